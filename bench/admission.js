#!/usr/bin/env node
/**
 * What the admission checks cost a handshake (issue 20): one built-in worker on a shared port, the C client opening a
 * connection per exchange (connect, handshake, one echo, close), with each check on and off, in turn, 3 rounds in
 * rotating order. Reports handshakes/s and CPU µs per handshake of the worker and of the primary (which keeps the
 * per-address ledger), as median [range]. Prints a Markdown table; `--json` prints the samples instead.
 *
 *     node bench/admission.js [--seconds 4] [--connections 20] [--rounds 3] [--cload path/to/cload] [--json] [--write]
 *
 * `--write` also puts the table in bench/RESULTS.md (its "admission" section).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { withSection } from "./lib/sections.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PRIMARY = `${ROOT}dist/primary.js`;
const ORIGIN = "http://bench.example";

const VARIANTS = [
  { name: "no checks", args: [] },
  {
    name: "--allowed-origins + --max-connections",
    args: ["--allowed-origins", ORIGIN, "--max-connections", "1000000"],
  },
  {
    name: "--max-conns-per-ip + --handshake-rate (ledger)",
    args: ["--max-conns-per-ip", "1000000", "--handshake-rate", "1000000"],
  },
  { name: "authorize hook (async, returns true)", args: ["--app", `${ROOT}bench/servers/authorize-echo.mjs`] },
  {
    name: "all of them",
    args: [
      ...["--allowed-origins", ORIGIN, "--max-connections", "1000000"],
      ...["--max-conns-per-ip", "1000000", "--handshake-rate", "1000000"],
      ...["--app", `${ROOT}bench/servers/authorize-echo.mjs`],
    ],
  },
];

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "4" },
    connections: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
    cload: { type: "string" },
    json: { type: "boolean", default: false },
    write: { type: "boolean", default: false },
  },
});
const cload = values.cload ?? (await import("./lib/cload.js")).ensureCload();

/** CPU time (user + system) of `pid` in µs, from /proc (clock ticks of 10 ms). */
function cpuUs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the fleet, waits for its worker, measures one window with cload, stops the fleet. */
async function measure(variant) {
  const port = await freePort();
  const primary = spawn(
    process.execPath,
    [PRIMARY, "--log-format", "json", "--workers", "1", "--shared-port", String(port), "--host", "127.0.0.1"].concat(
      ["--start-secs", "0"],
      variant.args,
    ),
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    let workerPid;
    for await (const line of createInterface({ input: primary.stdout })) {
      const event = line.startsWith("{") ? JSON.parse(line) : {};
      if (event.event === "running") {
        workerPid = event.pid;
        break;
      }
    }
    const args = ["-h", "127.0.0.1", "-P", String(port), "-u", "/", "-o", ORIGIN, "-C"];
    args.push("-c", values.connections, "-m", "32", "-w", "1", "-d", values.seconds);
    const client = spawn(cload, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    client.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    const cpu = {};
    for await (const line of createInterface({ input: client.stderr })) {
      if (line === "measuring") cpu.start = { worker: cpuUs(workerPid), primary: cpuUs(primary.pid) };
      if (line === "measured") cpu.end = { worker: cpuUs(workerPid), primary: cpuUs(primary.pid) };
    }
    await once(client, "close");
    const raw = JSON.parse(stdout);
    const errors = raw.errors.connect + raw.errors.closed + raw.errors.timeouts;
    return {
      variant: variant.name,
      handshakesPerSec: Math.round((raw.msgs * 1000) / raw.measuredMs),
      workerCpuUsPerHandshake: (cpu.end.worker - cpu.start.worker) / raw.msgs,
      primaryCpuUsPerHandshake: (cpu.end.primary - cpu.start.primary) / raw.msgs,
      errors,
    };
  } finally {
    primary.kill("SIGTERM");
    await once(primary, "exit");
  }
}

const samples = [];
const rounds = Number(values.rounds);
for (let round = 0; round < rounds; round += 1) {
  for (let index = 0; index < VARIANTS.length; index += 1) {
    samples.push(await measure(VARIANTS[(index + round) % VARIANTS.length]));
  }
}
if (values.json) {
  process.stdout.write(`${JSON.stringify(samples, null, 2)}\n`);
} else {
  const summary = (values, digits) => {
    const sorted = [...values].sort((a, b) => a - b);
    const fixed = (value) => value.toFixed(digits);
    return `${fixed(sorted[Math.floor(sorted.length / 2)])} [${fixed(sorted[0])}-${fixed(sorted.at(-1))}]`;
  };
  // Within each round: the variant's server CPU (worker + primary) per handshake over the no-checks one's.
  const serverUs = (sample) => sample.workerCpuUsPerHandshake + sample.primaryCpuUsPerHandshake;
  const ratios = (variant) =>
    samples
      .map((sample, index) => ({ sample, round: Math.floor(index / VARIANTS.length) }))
      .filter(({ sample }) => sample.variant === variant.name)
      .map(({ sample, round }) => {
        const base = samples.find(
          (other, index) => other.variant === VARIANTS[0].name && Math.floor(index / VARIANTS.length) === round,
        );
        return serverUs(sample) / serverUs(base);
      });
  const lines = [
    `| checks (1 worker, shared port, cload -C -c ${values.connections}, ${values.seconds} s × ${rounds}) | handshakes/s | worker CPU µs/handshake | primary CPU µs/handshake | server CPU × no checks | errors |`,
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const variant of VARIANTS) {
    const mine = samples.filter((sample) => sample.variant === variant.name);
    lines.push(
      `| ${variant.name} | ${summary(
        mine.map((s) => s.handshakesPerSec),
        0,
      )} | ${summary(
        mine.map((s) => s.workerCpuUsPerHandshake),
        1,
      )} | ${summary(
        mine.map((s) => s.primaryCpuUsPerHandshake),
        1,
      )} | ${summary(ratios(variant), 2)}× | ${mine.reduce((sum, s) => sum + s.errors, 0)} |`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  if (values.write) {
    const results = `${ROOT}bench/RESULTS.md`;
    const cpu = os.cpus()[0]?.model ?? "unknown CPU";
    const heading = [
      "## Who may connect: what the admission checks cost a handshake (`bench/admission.js`)",
      "",
      `Run ${new Date().toISOString()} on ${os.cpus().length} cores (${cpu}), Node ${process.version}, the load average ${os.loadavg()[0].toFixed(1)} at the end (a machine shared with other work: read the ratios, taken within each round, more than the absolute figures). Each variant is a fresh fleet of one built-in worker on a shared port, measured by the C client opening a new connection per exchange (connect, handshake, one 32 B echo, close), the variants in rotating order each round; median [lowest–highest] of the rounds. Worker and primary CPU from \`/proc\` (10 ms ticks).`,
      "",
    ].join("\n");
    writeFileSync(results, withSection(readFileSync(results, "utf8"), "admission", `${heading}\n${lines.join("\n")}`));
  }
}

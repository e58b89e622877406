#!/usr/bin/env node
/**
 * The rolling-restart case of issue 21, as a timing: `--missed` messages published to a room while `--clients`
 * subscribers were away, then all of them reconnect at once with `?epoch=…&offset=<before>` (the chat room's wire
 * format, examples/chat-room.js) and get every missed message. Times from the first reconnect to each client having
 * them all (p50/p99/max, and the whole), and the servers' CPU (the fleet's processes, from /proc) for the recovery.
 *
 *     node bench/history-recovery.js [--clients 1000] [--missed 1000] [--workers 2] [--rounds 3] [--json]
 *
 * The recovery is sent at once: --max-backpressure is raised to 4 MiB so a client is not closed for its burst
 * (docs/recovery.md, "Limits"). Run it under the machine's lock (`flock /tmp/wsfleet-heavy.lock`).
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { freePortRange } from "./lib/ports.js";
import { sampleProcesses } from "./lib/proc.js";
import { median } from "./lib/repeat.js";
import { waitForTcp } from "./lib/targets/broadcast-common.js";
import { rolesOf, spawnLogged, stopAll } from "./lib/targets/children.js";
import { PRIMARY, ROOT_DIR } from "./lib/targets/paths.js";

const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    missed: { type: "string", default: "1000" },
    workers: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
  },
});
const CLIENTS = Number(args.clients);
const MISSED = Number(args.missed);
const WORKERS = Number(args.workers);
const ROUNDS = Number(args.rounds);

function open(url, onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("message", (data) => onMessage(JSON.parse(String(data))));
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function round() {
  const ctx = { dir: mkdtempSync(`${os.tmpdir()}/wsfleet-bench-recovery-`), children: [], cleanups: [] };
  try {
    const basePort = await freePortRange(WORKERS);
    const primary = spawnLogged(ctx, "wsfleet", process.execPath, [
      PRIMARY,
      ...["--workers", String(WORKERS), "--base-port", String(basePort), "--host", "127.0.0.1", "--start-secs", "0"],
      ...["--app", `${ROOT_DIR}examples/chat-room.js`, "--history", String(MISSED * 2), "--max-backpressure", "4MiB"],
    ]);
    const endpoints = Array.from({ length: WORKERS }, (_, i) => ({ host: "127.0.0.1", port: basePort + i }));
    await waitForTcp(endpoints);
    const urls = endpoints.map(({ host, port }) => `ws://${host}:${port}/chat?room=lobby`);
    let position;
    const publisher = await open(urls[0], (message) => {
      position = message;
    });
    publisher.send("first");
    while (!position) await new Promise((resolve) => setTimeout(resolve, 10));
    const since = position;
    for (let n = 1; n <= MISSED; n += 1) publisher.send(`missed ${n}`);
    while (position.offset < since.offset + MISSED) await new Promise((resolve) => setTimeout(resolve, 10));
    const pids = rolesOf(primary.pid, /guard\.js/).map((p) => p.pid);
    const cpuBefore = sampleProcesses(pids).reduce((sum, p) => sum + p.cpuUs, 0);
    const startedAt = performance.now();
    const doneMs = [];
    const sockets = [];
    let wrong = 0;
    await new Promise((resolve) => {
      for (let id = 0; id < CLIENTS; id += 1) {
        let next = since.offset + 1;
        const url = `${urls[id % urls.length]}&epoch=${since.epoch}&offset=${since.offset}`;
        open(url, (message) => {
          if (message.offset !== next) wrong += 1;
          next = message.offset + 1;
          if (message.offset === since.offset + MISSED) {
            doneMs.push(performance.now() - startedAt);
            if (doneMs.length === CLIENTS) resolve();
          }
        }).then((ws) => sockets.push(ws));
      }
    });
    const cpuUs = sampleProcesses(pids).reduce((sum, p) => sum + p.cpuUs, 0) - cpuBefore;
    for (const ws of [...sockets, publisher]) ws.terminate();
    doneMs.sort((a, b) => a - b);
    const at = (q) => doneMs[Math.min(doneMs.length - 1, Math.floor(q * doneMs.length))];
    return {
      allMs: at(1),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      serverCpuMs: cpuUs / 1000,
      cpuUsPerMessage: cpuUs / (CLIENTS * MISSED),
      outOfOrder: wrong,
    };
  } finally {
    await stopAll(ctx, []);
  }
}

const rounds = [];
for (let r = 0; r < ROUNDS; r += 1) rounds.push(await round());
const summary = Object.fromEntries(
  Object.keys(rounds[0]).map((key) => [
    key,
    { median: median(rounds.map((each) => each[key])), rounds: rounds.map((each) => each[key]) },
  ]),
);
if (args.json)
  process.stdout.write(`${JSON.stringify({ clients: CLIENTS, missed: MISSED, workers: WORKERS, summary }, null, 2)}\n`);
else {
  const fmt = (value) => (Number.isInteger(value) ? String(value) : value.toFixed(2));
  process.stderr.write(
    `${CLIENTS} clients reconnecting at once, ${MISSED} missed messages each, ${WORKERS} workers, ${ROUNDS} rounds (median [each]):\n`,
  );
  for (const [key, { median: value, rounds: each }] of Object.entries(summary)) {
    process.stderr.write(`  ${key}: ${fmt(value)} [${each.map(fmt).join(", ")}]\n`);
  }
}

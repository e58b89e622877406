#!/usr/bin/env node
/**
 * What `--history` costs Redis per publish (issue 21): the Redis store's append (one Lua call: INCR, XADD MAXLEN n,
 * three EXPIREs, PUBLISH of the sequenced frame) against the plain PUBLISH the broker sends without history, on one
 * redis-server (persistence off) with one subscriber on the channel. Each variant runs one at a time (depth 1: the
 * client's round trip, p50/p99) and pipelined (auto-pipelining, `--depth` in flight: the throughput), in rotating
 * order for `--rounds` rounds; redis-server CPU µs per message from /proc. A figure is the median round [lowest-highest].
 *
 *     node bench/history-store.js [--messages 20000] [--history 1000] [--bytes 64] [--depth 64] [--rounds 3] [--json] [--write]
 *
 * `--write` also puts the table in bench/RESULTS.md (its "history-store" section). Run it under the machine's lock.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { RedisHistoryStore } from "../dist/history/redis-store.js";
import { encodeFrame } from "../dist/protocol/bus-frames.js";
import { freePortRange } from "./lib/ports.js";
import { sampleProcesses } from "./lib/proc.js";
import { median } from "./lib/repeat.js";
import { withSection } from "./lib/sections.js";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    history: { type: "string", default: "1000" },
    bytes: { type: "string", default: "64" },
    depth: { type: "string", default: "64" },
    rounds: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
    write: { type: "boolean", default: false },
  },
});
const MESSAGES = Number(args.messages);
const HISTORY = Number(args.history);
const DEPTH = Number(args.depth);
const ROUNDS = Number(args.rounds);
const PAYLOAD = Buffer.alloc(Number(args.bytes), "x");
const NAME = "bench";
const TOPIC = "lobby";
const ORIGIN = Buffer.from("origin01");

async function startRedis() {
  const port = await freePortRange(1);
  const child = spawn(
    "redis-server",
    ["--port", `${port}`, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  for (let i = 0; i < 100; i += 1) {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      await probe.connect();
      probe.disconnect();
      return { port, child };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not listen on ${port}`);
}

const redisCpuUs = (pid) => sampleProcesses([pid])[0].cpuUs;

/** Redis' own time inside the commands (INFO commandstats, µs), by command: what a busy machine cannot blur much. */
async function commandUs(redis) {
  const stats = {};
  for (const [, name, usec] of (await redis.info("commandstats")).matchAll(/cmdstat_(\w+):calls=\d+,usec=(\d+)/g)) {
    stats[name] = Number(usec);
  }
  return stats;
}

/** The two ways to send one message: what the broker does today, and the history's append. */
function variants(port) {
  const plain = new Redis({ port, enableAutoPipelining: true });
  const sequencing = new Redis({ port, enableAutoPipelining: true });
  const store = new RedisHistoryStore(sequencing, NAME, HISTORY, 300, { prefix: ORIGIN });
  const frame = Buffer.concat([ORIGIN, encodeFrame(TOPIC, PAYLOAD, false)]);
  const channel = Buffer.from(`wsfleet:${NAME}:${TOPIC}`);
  return {
    clients: [plain, sequencing],
    list: [
      { name: "PUBLISH (no history)", commands: ["publish"], send: () => plain.publishBuffer(channel, frame) },
      {
        name: `append (--history ${HISTORY})`,
        commands: ["evalsha", "eval"],
        send: () => store.append(TOPIC, PAYLOAD, false),
      },
    ],
  };
}

/** Redis' process CPU and its time inside the variant's command, per message, from here to `done()`. */
async function redisCost(variant, { pid, control }) {
  const inside = async () => {
    const stats = await commandUs(control);
    return variant.commands.reduce((sum, name) => sum + (stats[name] ?? 0), 0);
  };
  const cpu = redisCpuUs(pid);
  const before = await inside();
  return async () => ({
    redisUs: (redisCpuUs(pid) - cpu) / MESSAGES,
    commandUs: ((await inside()) - before) / MESSAGES,
  });
}

/** One message at a time: the round trip of each, and Redis' CPU per message. */
async function oneAtATime(variant, redis) {
  const latenciesUs = new Float64Array(MESSAGES);
  const cost = await redisCost(variant, redis);
  const started = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i += 1) {
    const t0 = process.hrtime.bigint();
    await variant.send();
    latenciesUs[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latenciesUs.sort();
  return {
    p50Us: latenciesUs[Math.floor(MESSAGES * 0.5)],
    p99Us: latenciesUs[Math.floor(MESSAGES * 0.99)],
    perSecond: MESSAGES / seconds,
    ...(await cost()),
  };
}

/** DEPTH in flight (auto-pipelined into few writes): the rate, and Redis' CPU per message. */
async function pipelined(variant, redis) {
  const cost = await redisCost(variant, redis);
  const started = process.hrtime.bigint();
  let sent = 0;
  const lane = async () => {
    while (sent < MESSAGES) {
      sent += 1;
      await variant.send();
    }
  };
  await Promise.all(Array.from({ length: DEPTH }, lane));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: MESSAGES / seconds, ...(await cost()) };
}

const fmt = (values, digits = 1) => {
  const sorted = [...values].sort((a, b) => a - b);
  const show = (v) => v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return `${show(median(sorted))} [${show(sorted[0])}–${show(sorted[sorted.length - 1])}]`;
};

async function main() {
  const { port, child } = await startRedis();
  const stop = () => child.kill("SIGKILL");
  process.once("SIGINT", () => {
    stop();
    process.exit(130);
  });
  try {
    const subscriber = new Redis({ port });
    let delivered = 0;
    subscriber.on("messageBuffer", () => {
      delivered += 1;
    });
    await subscriber.subscribe(`wsfleet:${NAME}:${TOPIC}`);
    const { clients, list } = variants(port);
    const redis = { pid: child.pid, control: new Redis({ port }) };
    clients.push(redis.control);
    // Warm up both, past n so every append trims (the steady state).
    for (const variant of list) for (let i = 0; i < HISTORY + 2000; i += 1) await variant.send();
    const samples = list.map(() => ({ single: [], piped: [] }));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (let k = 0; k < list.length; k += 1) {
        const i = (k + round) % list.length;
        samples[i].single.push(await oneAtATime(list[i], redis));
        samples[i].piped.push(await pipelined(list[i], redis));
      }
    }
    const expected = (HISTORY + 2000 + 2 * MESSAGES * ROUNDS) * list.length;
    for (let i = 0; i < 100 && delivered < expected; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const c of [...clients, subscriber]) c.disconnect();
    if (args.json) {
      console.log(JSON.stringify({ messages: MESSAGES, history: HISTORY, depth: DEPTH, delivered, expected, samples }));
      return;
    }
    const column = (rounds, key, digits = 1) =>
      fmt(
        rounds.map((r) => r[key]),
        digits,
      );
    const rows = list.map((variant, i) => {
      const { single, piped } = samples[i];
      const cells = [
        variant.name,
        column(single, "p50Us"),
        column(single, "p99Us"),
        column(single, "commandUs", 2),
        column(single, "redisUs", 1),
        column(piped, "perSecond", 0),
        column(piped, "commandUs", 2),
        column(piped, "redisUs", 1),
      ];
      return `| ${cells.join(" | ")} |`;
    });
    const ratio = (mode, key) =>
      fmt(
        samples[1][mode].map((s, r) => s[key] / samples[0][mode][r][key]),
        2,
      );
    const table = [
      `${MESSAGES.toLocaleString("en-US")} messages of ${PAYLOAD.length} B per variant and round, ${ROUNDS} rounds in rotating order, one subscriber on the channel, the stream capped at ${HISTORY}; redis-server ${redisVersion()}, ${os.cpus().length} cores shared with the client. "In the command": Redis' own time inside PUBLISH or the script (INFO commandstats); "process": redis-server's CPU from /proc (10 ms ticks; at depth 1 mostly the wake-up per message). Median round [lowest–highest].`,
      "",
      `| variant | round trip p50 µs (depth 1) | p99 µs | in the command µs/msg | process CPU µs/msg | msgs/s (depth ${DEPTH}) | in the command µs/msg | process CPU µs/msg |`,
      "|---|---|---|---|---|---|---|---|",
      ...rows,
      "",
      `append ÷ PUBLISH per round: time in the command ${ratio("piped", "commandUs")}, process CPU ${ratio("single", "redisUs")} at depth 1 and ${ratio("piped", "redisUs")} at depth ${DEPTH}. Every message reached the subscriber: ${delivered === expected ? "yes" : `no (${delivered} of ${expected})`}.`,
    ].join("\n");
    console.log(table);
    if (args.write) {
      const results = fileURLToPath(new URL("RESULTS.md", import.meta.url));
      const section = `## History on Redis: what an append costs against a PUBLISH (\`bench/history-store.js\`)\n\n${table}`;
      writeFileSync(results, withSection(readFileSync(results, "utf8"), "history-store", section));
    }
  } finally {
    stop();
    await once(child, "exit");
  }
}

function redisVersion() {
  return /v=(\S+)/.exec(spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout)?.[1] ?? "?";
}

await main();

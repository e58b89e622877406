#!/usr/bin/env node
/**
 * The broadcast comparison (issue 10): 1,000 subscribers in one room on 2 server processes, one publisher of 64-byte
 * stamped messages, at rising publish rates; wsfleet (embedded bus, and two fleets on 127.0.0.2/.3 with Redis)
 * against socket.io (cluster adapter on one machine, Redis adapter across two), plus the one-process floor.
 * `node bench/broadcast.js [--quick] [--only <id part>]`: prints a Markdown table; the JSON goes to bench/results/.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { runBroadcast } from "./lib/scenarios/broadcast.js";
import { broadcastSocketioClusterTarget } from "./lib/targets/broadcast-socketio-cluster.js";
import { broadcastSocketioRedisTarget } from "./lib/targets/broadcast-socketio-redis.js";
import { broadcastWsfleetTarget } from "./lib/targets/broadcast-wsfleet.js";
import { broadcastWsfleetRedisTarget } from "./lib/targets/broadcast-wsfleet-redis.js";
import { stopAll } from "./lib/targets/children.js";
import { BENCH_DIR } from "./lib/targets/paths.js";

const quick = process.argv.includes("--quick");
/** --bus-cost: no subscribers, only publishes: what one publish costs the workers, the primary and Redis. */
const busCost = process.argv.includes("--bus-cost");
const SUBSCRIBERS = busCost ? 0 : 1000;
const MESSAGE_BYTES = 64;
const RATES = busCost ? [5000] : quick ? [20, 200] : [20, 50, 100, 200, 400];
const STEPS = RATES.map((publishesPerSecond) => ({ publishesPerSecond, warmupS: 1, durationS: quick ? 2 : 4 }));
/** "Loss-free": at least this share of the expected deliveries arrived within the step and its drain. */
const LOSS_FREE_SHARE = 0.999;

const only = process.argv.indexOf("--only");
const TARGETS = [
  broadcastWsfleetTarget(1),
  broadcastWsfleetTarget(2),
  broadcastWsfleetRedisTarget(),
  broadcastSocketioClusterTarget(),
  broadcastSocketioRedisTarget(),
]
  .filter((target) => !busCost || target.protocol === "ws")
  .filter((target) => only === -1 || target.id.includes(process.argv[only + 1] ?? ""));

const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

const report = { date: new Date().toISOString(), host: os.hostname(), cores: os.cpus().length, targets: [] };
for (const target of TARGETS) {
  const ctx = { dir: mkdtempSync(`${os.tmpdir()}/wsfleet-bench-broadcast-`), children: [], cleanups: [] };
  let pids = [];
  try {
    const running = await target.start(ctx);
    pids = running.collect().map((p) => p.pid);
    process.stderr.write(`${target.label}: ${pids.length} server processes\n`);
    const steps = await runBroadcast(target, running, {
      subscribers: SUBSCRIBERS,
      messageBytes: MESSAGE_BYTES,
      steps: STEPS,
      log: (r) =>
        process.stderr.write(
          `  ${r.targetDeliveriesPerSecond}/s: delivered ${fmt(r.deliveredPerSecond, 0)}/s (${fmt(100 * r.deliveredShare, 2)} %), p99 ${fmt(r.latencyMs.p99, 2)} ms, ${fmt(r.serverCpuUsPerDelivery, 2)} µs CPU/delivery\n`,
        ),
    });
    report.targets.push({ id: target.id, label: target.label, steps });
  } catch (error) {
    process.stderr.write(`${target.label}: failed: ${error.message}\n`);
    report.targets.push({ id: target.id, label: target.label, error: error.message });
  } finally {
    const leftovers = await stopAll(ctx, pids);
    if (leftovers.length > 0) process.stderr.write(`  leftovers killed: ${JSON.stringify(leftovers)}\n`);
  }
}

mkdirSync(`${BENCH_DIR}results`, { recursive: true });
const file = `${report.date.slice(0, 10)}-${busCost ? "bus-cost" : "broadcast"}.json`;
writeFileSync(`${BENCH_DIR}results/${file}`, `${JSON.stringify(report, null, 2)}\n`);

if (busCost) {
  const rows = ["| target | publishes/s | workers µs/publish | primary (+ guard) µs/publish | redis µs/publish |"];
  rows.push("| --- | ---: | ---: | ---: | ---: |");
  for (const target of report.targets) {
    for (const s of target.steps ?? []) {
      const per = (role) => fmt((s.serverCpuUsByRole[role] ?? Number.NaN) / s.publishes, 2);
      rows.push(
        `| ${target.label} | ${s.publishesPerSecond} | ${per("worker")} | ${per("manager")} | ${per("redis")} |`,
      );
    }
  }
  process.stdout.write(`${rows.join("\n")}\n`);
  process.exit(0);
}

const lines = [
  `1,000 subscribers in one room on 2 server processes, one publisher, ${MESSAGE_BYTES}-byte messages; ${report.cores} cores, client and servers on the same machine.`,
  "",
  "| target | deliveries/s asked | delivered/s | delivered share | p50 ms | p99 ms | server CPU µs/delivery |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
];
for (const target of report.targets) {
  if (target.error) lines.push(`| ${target.label} | failed: ${target.error} | | | | | |`);
  for (const s of target.steps ?? []) {
    lines.push(
      `| ${target.label} | ${s.targetDeliveriesPerSecond} | ${fmt(s.deliveredPerSecond, 0)} | ${fmt(100 * s.deliveredShare, 2)} % | ${fmt(s.latencyMs.p50, 2)} | ${fmt(s.latencyMs.p99, 2)} | ${fmt(s.serverCpuUsPerDelivery, 2)} |`,
    );
  }
}
lines.push("", "| target | highest loss-free delivered rate (of the steps) |", "| --- | ---: |");
for (const target of report.targets) {
  const ok = (target.steps ?? []).filter((s) => s.deliveredShare >= LOSS_FREE_SHARE);
  lines.push(
    `| ${target.label} | ${ok.length > 0 ? fmt(Math.max(...ok.map((s) => s.deliveredPerSecond)), 0) : "none"} |`,
  );
}
process.stdout.write(`${lines.join("\n")}\n`);

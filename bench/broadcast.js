#!/usr/bin/env node
/**
 * The broadcast comparison (issue 10): 1,000 subscribers in one room on 2 server processes, one publisher of 64-byte
 * stamped messages, at rising publish rates; wsfleet (embedded bus, and two fleets on 127.0.0.2/.3 with Redis)
 * against socket.io (cluster adapter on one machine, Redis adapter across two), plus the one-process floor.
 * `node bench/broadcast.js [--quick] [--only <id part>]`: prints a Markdown table; the JSON goes to bench/results/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { runBroadcast } from "./lib/scenarios/broadcast.js";
import { withSection } from "./lib/sections.js";
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
    rmSync(ctx.dir, { recursive: true, force: true });
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
const byId = new Map(report.targets.map((t) => [t.id, t]));
const atFirstRate = (id) => byId.get(id)?.steps?.[0];
const lossFree = (id) => {
  const ok = (byId.get(id)?.steps ?? []).filter((s) => s.deliveredShare >= LOSS_FREE_SHARE);
  return ok.length > 0 ? Math.max(...ok.map((s) => s.deliveredPerSecond)) : Number.NaN;
};
lines.push(
  "",
  `| target | highest loss-free delivered rate of the steps (≥ ${100 * LOSS_FREE_SHARE} % arrived) |`,
  "| --- | ---: |",
);
for (const target of report.targets) lines.push(`| ${target.label} | ${fmt(lossFree(target.id), 0)} |`);
// The targets, from this run: CPU per delivery and p99 at the first rate (20,000 deliveries/s).
const cpu = (id) => atFirstRate(id)?.serverCpuUsPerDelivery ?? Number.NaN;
const p99 = (id) => atFirstRate(id)?.latencyMs.p99 ?? Number.NaN;
const ratio = (a, b) => fmt(a / b, 2);
const first = `${RATES[0] * SUBSCRIBERS}/s`;
lines.push(
  "",
  "| issue 10 target | this run |",
  "| --- | ---: |",
  `| wsfleet + Redis CPU/delivery ≤ 1.15 × the floor, at ${first} | ${ratio(cpu("wsfleet-redis"), cpu("wsfleet-embedded-x1"))}× |`,
  `| embedded CPU/delivery ≤ 1.15 × the floor, at ${first} | ${ratio(cpu("wsfleet-embedded-x2"), cpu("wsfleet-embedded-x1"))}× |`,
  `| wsfleet + Redis CPU/delivery vs socket.io + Redis adapter (≤ 1/2.3 = 0.43), at ${first} | ${ratio(cpu("wsfleet-redis"), cpu("socketio-redis"))}× |`,
  `| embedded CPU/delivery vs socket.io cluster adapter, at ${first} | ${ratio(cpu("wsfleet-embedded-x2"), cpu("socketio-cluster"))}× |`,
  `| highest loss-free rate, wsfleet + Redis vs socket.io + Redis (≥ 2×) | ${ratio(lossFree("wsfleet-redis"), lossFree("socketio-redis"))}× |`,
  `| highest loss-free rate, embedded vs socket.io cluster (≥ 2×) | ${ratio(lossFree("wsfleet-embedded-x2"), lossFree("socketio-cluster"))}× |`,
  `| p99 at ${first}, wsfleet + Redis vs socket.io + Redis (≤ 0.5) | ${ratio(p99("wsfleet-redis"), p99("socketio-redis"))}× |`,
  `| p99 at ${first}, embedded vs socket.io cluster (≤ 0.5) | ${ratio(p99("wsfleet-embedded-x2"), p99("socketio-cluster"))}× |`,
);
process.stdout.write(`${lines.join("\n")}\n`);
if (!quick && only === -1) {
  // A full run is the one RESULTS.md shows; run.js keeps this section when it rewrites the file.
  const results = `${BENCH_DIR}RESULTS.md`;
  const heading = [
    "## Broadcast: fleet-wide publish (`bench/broadcast.js`)",
    "",
    `From [\`results/${file}\`](results/${file}), a run started ${report.date}. Each rate is a step of the publisher (20-400 publishes/s to 1,000 subscribers): 1 s warm-up, ${STEPS[0].durationS} s measured, 1.5 s to drain. Latency runs from the publisher's send to the subscriber's read, both in the one client process, which shares the 2 cores with the servers. Server CPU: every server process (workers, wsfleet primary and guard, node cluster primary, redis-server) from \`/proc\`, over the step and its drain, divided by the step's deliveries.`,
    "",
  ].join("\n");
  writeFileSync(results, withSection(readFileSync(results, "utf8"), "broadcast", `${heading}\n${lines.join("\n")}`));
}

#!/usr/bin/env node
/**
 * The broadcast comparison (issues 10 and 25): 1,000 subscribers in one room on 2 server processes, one publisher of
 * 64-byte stamped messages, at rising publish rates; wsfleet (embedded bus, and two fleets on 127.0.0.2/.3 with Redis)
 * against bare uWebSockets.js (one process; two joined by Redis) and socket.io (cluster adapter; Redis adapter).
 * `node bench/broadcast.js [--quick] [--only <id part>[,<id part>…]] [--rates 50,200] [--repetitions N] [--history]
 * [--baseline <checkout>/dist/primary.js] [--cold] [--interleave] [--client c] [--pin-servers]
 * [--bridge-on-hosts]`: prints
 * Markdown tables; the JSON goes to bench/results/.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { pinServersApart } from "./lib/pin.js";
import { openBroadcast, runBroadcast } from "./lib/scenarios/broadcast.js";
import { manyTopicsReport } from "./lib/scenarios/many-topics.js";
import { withSection } from "./lib/sections.js";
import { spread } from "./lib/summary.js";
import { broadcastSocketioClusterTarget } from "./lib/targets/broadcast-socketio-cluster.js";
import { broadcastSocketioRedisTarget } from "./lib/targets/broadcast-socketio-redis.js";
import { broadcastUwsTarget } from "./lib/targets/broadcast-uws.js";
import { broadcastWsfleetTarget } from "./lib/targets/broadcast-wsfleet.js";
import { broadcastWsfleetRedisTarget } from "./lib/targets/broadcast-wsfleet-redis.js";
import { stopAll } from "./lib/targets/children.js";
import { BENCH_DIR } from "./lib/targets/paths.js";

if (process.argv.includes("--many-topics")) {
  await manyTopicsReport(process.argv);
  process.exit(0);
}
const quick = process.argv.includes("--quick");
/** A bad option: what it was and what it takes, exit code 2. */
const badOption = (message) => {
  process.stderr.write(`bench/broadcast.js: ${message}\n`);
  process.exit(2);
};
/**
 * --bus-cost: what one publish costs the workers, the primary and Redis. One subscriber on each of the 2 processes, so
 * every publish crosses the bus (topic routing keeps a publish that nobody else serves in its worker) and the sends
 * to subscribers are 2 per publish, not 1,000.
 */
const busCost = process.argv.includes("--bus-cost");
const SUBSCRIBERS = busCost ? 2 : 1000;
const MESSAGE_BYTES = 64;
const ratesAt = process.argv.indexOf("--rates");
/** Publishes per second of each step; --rates 50,200 picks some. */
const RATES =
  ratesAt !== -1
    ? process.argv[ratesAt + 1].split(",").map(Number)
    : busCost
      ? [5000]
      : quick
        ? [20, 200]
        : [20, 50, 100, 200, 400];
/**
 * Each step measures 4 s, or up to 8 s until it holds 400 publishes: at 50/s a 4 s window was 200 publishes, and the
 * same target's CPU per delivery moved by 10-20 % between rounds (the bridge 5.25-7.05 µs in one interleaved run of 8),
 * against 6.2-6.6 µs over 8 s windows.
 */
const MIN_PUBLISHES = 400;
const durationOf = (rate) => (quick ? 2 : Math.min(8, Math.max(4, MIN_PUBLISHES / rate)));
const STEPS = RATES.map((publishesPerSecond) => ({
  publishesPerSecond,
  warmupS: 1,
  durationS: durationOf(publishesPerSecond),
}));
/** "Loss-free": at least this share of the expected deliveries arrived within the step and its drain. */
const LOSS_FREE_SHARE = 0.999;

const only = process.argv.indexOf("--only");
const repetitionsAt = process.argv.indexOf("--repetitions");
/** Each target is measured this many times, the order rotated each time; figures are median [lowest–highest]. */
const REPETITIONS = repetitionsAt === -1 ? (quick || busCost ? 1 : 3) : Number(process.argv[repetitionsAt + 1]);
if (!Number.isInteger(REPETITIONS) || REPETITIONS < 1)
  badOption(`--repetitions takes a whole number ≥ 1, not ${process.argv[repetitionsAt + 1]}`);
/** --history: the wsfleet rows again with --history 1000 beside them, same run (issue 21: ≤ 1.15× the CPU per delivery). */
const withHistory = process.argv.includes("--history");
/** --baseline <checkout>/dist/primary.js: the wsfleet rows of another build beside this one's, same run. */
const baselineAt = process.argv.indexOf("--baseline");
const baseline = baselineAt === -1 ? undefined : process.argv[baselineAt + 1];
/** --cold: no warm-up publishes before the steps (see WARM_PUBLISHES in lib/scenarios/broadcast.js). */
const cold = process.argv.includes("--cold");
/**
 * --interleave: every target started at once and each step run on one target after the other (the order rotated
 * each round), so the ratios compare steps seconds apart instead of runs minutes apart; the idle targets meanwhile
 * hold their connections. Without --only and the like it is a full run, and RESULTS.md shows it.
 */
const interleave = process.argv.includes("--interleave");
/** How RESULTS.md describes an --interleave run. */
/**
 * --client c: the subscribers and the publisher held by the C client (`cload -B`, bench/cload/broadcast.c), one
 * process per target, instead of this process: the Node client costs more CPU per delivery than the servers it
 * measures, on the same 2 cores.
 */
const clientAt = process.argv.indexOf("--client");
const CLIENT = clientAt === -1 ? "node" : process.argv[clientAt + 1];
if (CLIENT !== "node" && CLIENT !== "c") badOption(`--client takes node or c, not ${CLIENT}`);
/**
 * --pin-servers: each target's server processes on cores of their own (the first on core 0, the second on core 1),
 * its primaries, Redis and the client left to the scheduler, so two servers of one target never take turns on one
 * core and each keeps its core's caches from one step to the next.
 */
const pinServers = process.argv.includes("--pin-servers");
/**
 * --bridge-on-hosts: the bridge again with its two processes on 127.0.0.2 and 127.0.0.3, the addresses `--broker`'s
 * two fleets listen on, so the two can be compared on the same loopback addresses.
 */
const bridgeOnHosts = process.argv.includes("--bridge-on-hosts");
const INTERLEAVED =
  "Interleaved (`--interleave`): every target was started once and kept up, its 1,000 subscribers connected, for the whole run; round by round each step ran on one target after the other, the order rotated each round, so each ratio compares steps seconds apart, not runs minutes apart (on this machine the same target's CPU per delivery drifted by up to 60 % within a minute).";
const TARGETS = [
  broadcastUwsTarget(1),
  broadcastUwsTarget(2),
  ...(bridgeOnHosts ? [broadcastUwsTarget(2, { hosts: ["127.0.0.2", "127.0.0.3"] })] : []),
  broadcastWsfleetTarget(1),
  broadcastWsfleetTarget(2),
  ...(baseline ? [broadcastWsfleetTarget(2, { primary: baseline })] : []),
  ...(withHistory ? [broadcastWsfleetTarget(2, { history: 1000 })] : []),
  broadcastWsfleetRedisTarget(),
  ...(baseline ? [broadcastWsfleetRedisTarget({ primary: baseline })] : []),
  ...(withHistory ? [broadcastWsfleetRedisTarget({ history: 1000 })] : []),
  broadcastSocketioClusterTarget(),
  broadcastSocketioRedisTarget(),
]
  .filter((target) => !busCost || target.id.startsWith("wsfleet") || target.id.startsWith("uws-x2"))
  .filter(
    (target) => only === -1 || (process.argv[only + 1] ?? "").split(",").some((part) => target.id.includes(part)),
  );

const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

/** One step's progress line, on stderr. */
const logStep = (r, label = "") =>
  process.stderr.write(
    `  ${label}${r.targetDeliveriesPerSecond}/s: delivered ${fmt(r.deliveredPerSecond, 0)}/s (${fmt(100 * r.deliveredShare, 2)} %), p99 ${fmt(r.latencyMs.p99, 2)} ms (p50 on the publisher's process ${fmt(r.latencyMsBySide.local.p50, 2)}, on the others ${fmt(r.latencyMsBySide.remote.p50, 2)}), ${fmt(r.serverCpuUsPerDelivery, 2)} µs CPU/delivery${r.rejoined > 0 ? `; ${r.rejoined} subscribers dropped before it, reopened` : ""}\n`,
  );
const SESSION = { subscribers: SUBSCRIBERS, messageBytes: MESSAGE_BYTES, warm: !cold, client: CLIENT };

/** A target started in its own directory: its `running` handle, and what stops it. */
async function startTarget(target) {
  const ctx = { dir: mkdtempSync(`${os.tmpdir()}/wsfleet-bench-broadcast-`), children: [], cleanups: [] };
  const started = { target, ctx, pids: [], running: undefined };
  started.stop = async () => {
    const leftovers = await stopAll(ctx, started.pids);
    if (leftovers.length > 0) process.stderr.write(`  leftovers killed: ${JSON.stringify(leftovers)}\n`);
    rmSync(ctx.dir, { recursive: true, force: true });
  };
  try {
    started.running = await target.start(ctx);
  } catch (error) {
    await started.stop();
    throw error;
  }
  const processes = started.running.collect();
  started.pids = processes.map((p) => p.pid);
  const pinned = pinServers ? pinServersApart(processes, os.cpus().length) : [];
  const where = pinned.length > 0 ? ` (${pinned.map(({ pid, core }) => `${pid} on core ${core}`).join(", ")})` : "";
  process.stderr.write(`${target.label}: ${started.pids.length} server processes${where}\n`);
  return started;
}

/** One target started fresh, every step measured, stopped; the steps, or the error. */
async function measure(target) {
  let started;
  try {
    started = await startTarget(target);
    const steps = await runBroadcast(target, started.running, { ...SESSION, steps: STEPS, log: (r) => logStep(r) });
    return { steps };
  } catch (error) {
    process.stderr.write(`${target.label}: failed: ${error.message}\n`);
    return { error: error.message };
  } finally {
    await started?.stop();
  }
}

/** --interleave: every target up at once; round by round, each step on one target after the other. */
async function measureInterleaved(report) {
  const all = [];
  try {
    for (const target of TARGETS) {
      const started = await startTarget(target);
      all.push(started);
      started.session = await openBroadcast(target, started.running, SESSION);
    }
    for (let round = 0; round < REPETITIONS; round += 1) {
      process.stderr.write(`round ${round + 1} of ${REPETITIONS}\n`);
      for (const target of report.targets) target.repetitions.push({ steps: [] });
      for (const step of STEPS)
        for (let i = 0; i < all.length; i += 1) {
          const k = (i + round) % all.length;
          const result = await all[k].session.step(step);
          report.targets[k].repetitions[round].steps.push(result);
          logStep(result, `${all[k].target.id} `);
        }
    }
  } finally {
    for (const started of all) started.session?.close();
    for (const started of all) await started.stop();
  }
}

/** The lower middle of `items` ordered by `key`. */
function medianBy(items, key) {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor((items.length - 1) / 2)];
}

const report = {
  date: new Date().toISOString(),
  host: os.hostname(),
  cores: os.cpus().length,
  repetitions: REPETITIONS,
  warm: !cold,
  interleaved: interleave,
  client: CLIENT,
  pinnedServers: pinServers,
  targets: TARGETS.map((t) => ({ id: t.id, label: t.label, topology: t.topology, repetitions: [] })),
};
if (interleave) await measureInterleaved(report);
else
  for (let round = 0; round < REPETITIONS; round += 1) {
    process.stderr.write(`repetition ${round + 1} of ${REPETITIONS}\n`);
    for (let i = 0; i < TARGETS.length; i += 1) {
      const k = (i + round) % TARGETS.length;
      report.targets[k].repetitions.push(await measure(TARGETS[k]));
    }
  }
// The median repetition's steps stand for the target in the issue-10 tables below (by CPU per delivery at the first rate).
for (const target of report.targets) {
  const ok = target.repetitions.filter((r) => r.steps);
  if (ok.length === 0) target.error = target.repetitions[0]?.error ?? "not measured";
  else target.steps = medianBy(ok, (r) => r.steps[0].serverCpuUsPerDelivery).steps;
}

mkdirSync(`${BENCH_DIR}results`, { recursive: true });
// A targeted run (--quick, --only, --rates, --baseline, --cold) keeps its figures apart: the full run's file is the one RESULTS.md links.
const targeted = quick || only !== -1 || ratesAt !== -1 || baseline !== undefined || cold;
const stem = `${report.date.slice(0, 10)}-${busCost ? "bus-cost" : "broadcast"}${interleave ? "-interleaved" : ""}${CLIENT === "c" ? "-cclient" : ""}${pinServers ? "-pinned" : ""}${targeted ? "-targeted" : ""}`;
// A second run of the same kind on the same day gets its start time too: a committed run's file is never overwritten.
const file = existsSync(`${BENCH_DIR}results/${stem}.json`)
  ? `${stem}-${report.date.slice(11, 19).replaceAll(":", "")}.json`
  : `${stem}.json`;
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

const rng = (summary, digits) =>
  summary === null
    ? "-"
    : summary.n > 1
      ? `${fmt(summary.median, digits)} [${fmt(summary.min, digits)}–${fmt(summary.max, digits)}]`
      : fmt(summary.median, digits);
/** The step at `rate` publishes/s of every measured repetition of a target. */
const stepsAt = (target, rate) =>
  target.repetitions.flatMap((r) => r.steps?.filter((s) => s.publishesPerSecond === rate) ?? []);
const topologyText = (t) =>
  t?.topology ? `${t.topology.processes} process${t.topology.processes > 1 ? "es" : ""}, ${t.topology.joinedBy}` : "";

const lines = [
  `1,000 subscribers in one room on 2 server processes (one for the ×1 rows), one publisher, ${MESSAGE_BYTES}-byte messages; ${report.cores} cores, client and servers on the same machine; ${REPETITIONS} repetition${REPETITIONS > 1 ? "s" : ""}, the order of the targets rotated each time, figures median [lowest–highest].`,
  "",
  "| target | topology | deliveries/s asked | delivered/s | delivered share | p50 ms | p99 ms | server CPU µs/delivery | client CPU µs/delivery | softirq µs/delivery |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
for (const target of report.targets) {
  if (target.error) lines.push(`| ${target.label} | ${topologyText(target)} | failed: ${target.error} | | | | | | | |`);
  for (const rate of target.error ? [] : RATES) {
    const reps = stepsAt(target, rate);
    if (reps.length === 0) continue;
    lines.push(
      `| ${target.label} | ${topologyText(target)} | ${rate * SUBSCRIBERS} | ${rng(spread(reps, "deliveredPerSecond"), 0)} | ${rng(
        spread(reps, (s) => 100 * s.deliveredShare),
        2,
      )} % | ${rng(
        spread(reps, (s) => s.latencyMs.p50),
        2,
      )} | ${rng(
        spread(reps, (s) => s.latencyMs.p99),
        2,
      )} | ${rng(spread(reps, "serverCpuUsPerDelivery"), 2)} | ${rng(spread(reps, "clientCpuUsPerDelivery"), 2)} | ${rng(
        spread(reps, "softirqUsPerDelivery"),
        2,
      )} |`,
    );
  }
}
// Issue 25's targets: each wsfleet set-up against the bare uWebSockets.js floor of the same topology (2 processes
// joined by Redis) and against the one-process floor, the ratio taken within each repetition.
const targetById = (id) => report.targets.find((t) => t.id === id);
function ratioAcross(aId, bId, rate, figure) {
  const a = targetById(aId);
  const b = targetById(bId);
  if (!a || !b) return null;
  const pairs = a.repetitions.map((ra, i) => {
    const sa = ra.steps?.find((s) => s.publishesPerSecond === rate);
    const sb = b.repetitions[i]?.steps?.find((s) => s.publishesPerSecond === rate);
    return sa && sb ? figure(sa) / figure(sb) : null;
  });
  return spread(pairs, (v) => v);
}
const cpuOf = (s) => s.serverCpuUsPerDelivery;
/**
 * The servers' and the client's CPU together: on loopback, part of each delivery's kernel work (the receive side of
 * the segment, waking the client) runs in whichever of the two gets there first, so the servers' share moves between
 * steps while the sum moves less. Runs before clientCpuUsPerDelivery have NaN here.
 */
const bothOf = (s) => s.serverCpuUsPerDelivery + (s.clientCpuUsPerDelivery ?? Number.NaN);
const p99Of = (s) => s.latencyMs.p99;
lines.push(
  "",
  "| issue 25 ratio | deliveries/s | server CPU/delivery | servers + client CPU/delivery | p99 | target |",
  "| --- | ---: | ---: | ---: | ---: | --- |",
);
for (const rate of RATES.filter((r) => r === 50 || r === 200)) {
  for (const [a, b, goal] of [
    ["wsfleet-embedded-x2", "uws-x2-redis", "≤ 1.0"],
    ["wsfleet-redis", "uws-x2-redis", "≤ 1.05"],
    ["wsfleet-embedded-x2", "uws-x1", "(bound)"],
    ["wsfleet-redis", "uws-x1", "(bound)"],
    ["uws-x2-redis", "uws-x1", "(bound)"],
  ]) {
    const cpu = ratioAcross(a, b, rate, cpuOf);
    if (cpu === null) continue;
    lines.push(
      `| ${targetById(a).label} / ${targetById(b).label} | ${rate * SUBSCRIBERS} | ${rng(cpu, 2)}× | ${rng(ratioAcross(a, b, rate, bothOf), 2)}× | ${rng(ratioAcross(a, b, rate, p99Of), 2)}× | ${goal} (CPU and p99) |`,
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
// The issue's targets, from this run: CPU per delivery and p99 at the first rate (20,000 deliveries/s).
const cpu = (id) => atFirstRate(id)?.serverCpuUsPerDelivery ?? Number.NaN;
const p99 = (id) => atFirstRate(id)?.latencyMs.p99 ?? Number.NaN;
const ratio = (a, b) => fmt(a / b, 2);
const first = `${RATES[0] * SUBSCRIBERS}/s`;
lines.push(
  "",
  "| issue 10 target | this run |",
  "| --- | ---: |",
  `| wsfleet + Redis CPU/delivery ≤ 1.15 × wsfleet ×1, at ${first} | ${ratio(cpu("wsfleet-redis"), cpu("wsfleet-embedded-x1"))}× |`,
  `| embedded CPU/delivery ≤ 1.15 × wsfleet ×1, at ${first} | ${ratio(cpu("wsfleet-embedded-x2"), cpu("wsfleet-embedded-x1"))}× |`,
  `| wsfleet + Redis CPU/delivery vs socket.io + Redis adapter (≤ 1/2.3 = 0.43), at ${first} | ${ratio(cpu("wsfleet-redis"), cpu("socketio-redis"))}× |`,
  `| embedded CPU/delivery vs socket.io cluster adapter, at ${first} | ${ratio(cpu("wsfleet-embedded-x2"), cpu("socketio-cluster"))}× |`,
  `| highest loss-free rate, wsfleet + Redis vs socket.io + Redis (≥ 2×) | ${ratio(lossFree("wsfleet-redis"), lossFree("socketio-redis"))}× |`,
  `| highest loss-free rate, embedded vs socket.io cluster (≥ 2×) | ${ratio(lossFree("wsfleet-embedded-x2"), lossFree("socketio-cluster"))}× |`,
  `| p99 at ${first}, wsfleet + Redis vs socket.io + Redis (≤ 0.5) | ${ratio(p99("wsfleet-redis"), p99("socketio-redis"))}× |`,
  `| p99 at ${first}, embedded vs socket.io cluster (≤ 0.5) | ${ratio(p99("wsfleet-embedded-x2"), p99("socketio-cluster"))}× |`,
);
process.stdout.write(`${lines.join("\n")}\n`);
if (!targeted) {
  // A full run is the one RESULTS.md shows; run.js keeps this section when it rewrites the file.
  const results = `${BENCH_DIR}RESULTS.md`;
  const heading = [
    "## Broadcast: fleet-wide publish (`bench/broadcast.js`)",
    "",
    `From [\`results/${file}\`](results/${file}), a run started ${report.date}. ${interleave ? INTERLEAVED : "Each target was started fresh for each repetition, one after the other."} Each target, once started, first carries 20,000 publishes (4,000/s) to one subscriber on each of its processes, so its JavaScript is optimised by V8 as in a server that has been running (\`--cold\` skips this); then each rate is a step of the publisher (20-400 publishes/s to 1,000 subscribers): 1 s warm-up, ${STEPS.map((step) => `${step.durationS} s at ${step.publishesPerSecond}/s`).join(", ")} measured, 1.5 s to drain. Latency runs from the publisher's send to the subscriber's read, both in one client process, which shares the 2 cores with the servers: ${CLIENT === "c" ? "the C client (`--client c`: `cload -B`, one process per target, one epoll loop)" : "this Node process"}.${pinServers ? " Pinned (`--pin-servers`, taskset): each target's server processes on cores of their own, the first on core 0 and the second on core 1; primaries, Redis and the client free." : ""} Server CPU: every server process (workers, wsfleet primary and guard, node cluster primary, redis-server) from \`/proc\`, over the step and its drain, divided by the step's deliveries. Client CPU: ${CLIENT === "c" ? "the target's C client process (its publisher and subscribers) over the same span, from `getrusage()`" : `the bench's one client process (the publisher and every subscriber${interleave ? ", and the other targets' idle subscribers" : ""}) over the same span, from \`process.cpuUsage()\``}. Softirq: the whole machine's (\`/proc/stat\`) over the same span: on loopback the receiving half of each delivery (the segment into the client's socket, the client's wake-up) runs as a softirq, mostly on the sending server's core, and the kernel counts it to no process. Which of the two processes does part of each delivery's kernel work depends on timing, so the servers' CPU moves between steps more than the servers' and the client's together (see docs/publish.md).`,
    "",
  ].join("\n");
  writeFileSync(results, withSection(readFileSync(results, "utf8"), "broadcast", `${heading}\n${lines.join("\n")}`));
}

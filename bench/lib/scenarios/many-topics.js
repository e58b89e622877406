/**
 * Many topics (issue 23): `topics` topics on a fleet of `workers`, one subscriber per topic (subscriber i in topic
 * i on worker i mod workers, so each topic is served by one worker), one publisher on worker 0 publishing to the
 * topics in turn. Per run: deliveries, CPU per publish of the workers and of the primary, and the bytes the primary
 * wrote per publish (its hub's writes to workers, from /proc/<pid>/io). Run against this build and a baseline build
 * (`--baseline <checkout>/dist/primary.js`), it shows what topic routing saves over forwarding every publish to
 * every worker. With a broker, the same 4 workers as two fleets of 2 on 127.0.0.2 and 127.0.0.3 sharing one Redis
 * (`redis://`) or a 3-primary Redis Cluster (`redis+cluster://`, sharded pub/sub), both started here: half of the
 * topics are then served by the other fleet, through the broker.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { openWebSocket } from "../connection.js";
import { buildMaskedFrame, frameParser, OPCODE_TEXT } from "../frames.js";
import { cpuByRole } from "../proc.js";
import { startFleet, startRedis, startRedisCluster } from "../targets/broadcast-common.js";
import { stopAll } from "../targets/children.js";
import { BENCH_DIR } from "../targets/paths.js";

const DRAIN_MS = 1500;
/** Warm-up rounds (one publish per topic each) until one is delivered whole: the subscriptions have settled. */
const WARM_UP_ROUNDS = 5;
const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

/** write(2) bytes of a process so far (wchar: what it asked to write, sockets included). */
function writtenBytes(pid) {
  const match = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
  return match ? Number(match[1]) : Number.NaN;
}

/**
 * `running`: { endpoints: [{host, port}] (one per worker), primaryPids, collect() → [{pid, role}] (roles: worker,
 * manager for the publishing fleet's primary, manager-b for the other's, redis) }. Resolves with one result.
 */
async function runManyTopics(running, { topics, publishesPerSecond, durationS, messageBytes }) {
  const { endpoints } = running;
  let delivered = 0;
  const sockets = [];
  for (let i = 0; i < topics; i += 1) {
    const endpoint = endpoints[i % endpoints.length];
    const { socket, leftover, setReader } = await openWebSocket({ ...endpoint, path: `/?room=t${i}` });
    // Counts the data frames of the server's stream (control frames are not deliveries).
    const reader = frameParser(
      () => {
        delivered += 1;
      },
      () => {},
    );
    setReader(reader);
    if (leftover.length > 0) reader(leftover, leftover.length);
    sockets.push(socket);
  }
  const publisher = await openWebSocket({ ...endpoints[0], path: "/?publishTo=*" });
  sockets.push(publisher.socket);
  const filler = "x".repeat(messageBytes);
  let next = 0;
  const publish = () => {
    publisher.socket.write(buildMaskedFrame(OPCODE_TEXT, Buffer.from(`t${next % topics} ${filler}`)));
    next += 1;
  };
  // Subscriptions reach the hub (and the broker) asynchronously; rounds of one publish per topic, not measured, until
  // one is delivered whole let them settle.
  let warmedUp = false;
  for (let round = 0; round < WARM_UP_ROUNDS && !warmedUp; round += 1) {
    const before = delivered;
    for (let i = 0; i < topics; i += 1) publish();
    await sleep(2000);
    warmedUp = delivered - before === topics;
  }
  if (!warmedUp) throw new Error(`a warm-up round of ${topics} publishes was never delivered whole`);
  const processes = running.collect();
  const cpuStart = cpuByRole(processes);
  const primariesBytes = () => running.primaryPids.reduce((total, pid) => total + writtenBytes(pid), 0);
  const bytesStart = primariesBytes();
  const deliveredStart = delivered;
  const startedAt = performance.now();
  let published = 0;
  let nextAt = performance.now();
  const intervalMs = 1000 / publishesPerSecond;
  const ticker = setInterval(() => {
    const now = performance.now();
    while (nextAt <= now && now - startedAt < durationS * 1000) {
      publish();
      published += 1;
      nextAt += intervalMs;
    }
  }, 1);
  await sleep(durationS * 1000);
  clearInterval(ticker);
  await sleep(DRAIN_MS);
  const cpuEnd = cpuByRole(processes);
  const cpuUsByRole = Object.fromEntries(Object.keys(cpuEnd).map((role) => [role, cpuEnd[role] - cpuStart[role]]));
  const primaryBytes = primariesBytes() - bytesStart;
  for (const socket of sockets) socket.destroy();
  return {
    topics,
    publishesPerSecond,
    publishes: published,
    deliveredShare: published === 0 ? 0 : (delivered - deliveredStart) / published,
    workerCpuUsPerPublish: (cpuUsByRole.worker ?? 0) / published,
    primaryCpuUsPerPublish: (cpuUsByRole.manager ?? 0) / published,
    otherPrimaryCpuUsPerPublish: (cpuUsByRole["manager-b"] ?? 0) / published,
    redisCpuUsPerPublish: (cpuUsByRole.redis ?? 0) / published,
    primaryBytesPerPublish: primaryBytes / published,
  };
}

/** One fleet of 4 workers on 127.0.0.1 with the embedded bus, on `primary` (this build when undefined). */
async function embeddedFleet(ctx, primary) {
  const fleet = await startFleet(ctx, { name: "wsfleet", host: "127.0.0.1", workers: 4, primary });
  return { endpoints: fleet.endpoints, primaryPids: [fleet.primaryPid], collect: fleet.pids };
}

/** Two fleets of 2 workers, on 127.0.0.2 and 127.0.0.3, sharing `broker` ({ url, pids }). */
async function twoFleets(ctx, broker) {
  const a = await startFleet(ctx, { name: "wsfleet-a", host: "127.0.0.2", workers: 2, broker: broker.url });
  const b = await startFleet(ctx, { name: "wsfleet-b", host: "127.0.0.3", workers: 2, broker: broker.url });
  return {
    endpoints: [...a.endpoints, ...b.endpoints],
    primaryPids: [a.primaryPid, b.primaryPid],
    collect: () => [
      ...a.pids(),
      ...b.pids().map((p) => ({ ...p, role: p.role === "manager" ? "manager-b" : p.role })),
      ...broker.pids.map((pid) => ({ pid, role: "redis" })),
    ],
  };
}

async function singleRedis(ctx) {
  const redis = await startRedis(ctx);
  return { url: redis.url, pids: [redis.pid] };
}

/**
 * `node bench/broadcast.js --many-topics [--baseline <checkout>/dist/primary.js] [--quick]`: 10,000 topics on 4
 * workers, one subscriber each, publishes spread evenly (lib/scenarios/many-topics.js): the embedded bus on this
 * build and, with --baseline, on another; then two fleets of 2 workers on one Redis and on a 3-primary Redis Cluster.
 */
export async function manyTopicsReport(argv) {
  const quick = argv.includes("--quick");
  const baseline = argv.indexOf("--baseline");
  const setups = [{ label: "embedded, 1 fleet × 4 workers", start: (ctx) => embeddedFleet(ctx, undefined) }];
  if (baseline !== -1) {
    const primary = argv[baseline + 1];
    setups.push({ label: `embedded, baseline ${primary}`, start: (ctx) => embeddedFleet(ctx, primary) });
  }
  setups.push(
    { label: "redis://, 2 fleets × 2 workers", start: async (ctx) => twoFleets(ctx, await singleRedis(ctx)) },
    {
      label: "redis+cluster:// (3 primaries), 2 fleets × 2 workers",
      start: async (ctx) => twoFleets(ctx, await startRedisCluster(ctx, 3)),
    },
  );
  const settings = {
    topics: quick ? 2000 : 10_000,
    publishesPerSecond: 2000,
    durationS: quick ? 2 : 5,
    messageBytes: 64,
  };
  const rows = [
    `${settings.topics} topics, 4 workers, one subscriber per topic, ${settings.publishesPerSecond} publishes/s for ${settings.durationS} s from worker 0, topics in turn; ${os.cpus().length} cores shared with the client.`,
    "",
    "| setup | publishes | delivered share | workers µs/publish | primaries µs/publish (publishing + other) | primaries bytes written/publish | redis µs/publish |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const results = [];
  for (const setup of setups) {
    const ctx = { dir: mkdtempSync(`${os.tmpdir()}/wsfleet-bench-topics-`), children: [], cleanups: [] };
    let pids = [];
    try {
      const running = await setup.start(ctx);
      pids = running.collect().map((p) => p.pid);
      const r = await runManyTopics(running, settings);
      results.push({ setup: setup.label, ...r });
      const primaries =
        running.primaryPids.length === 1
          ? fmt(r.primaryCpuUsPerPublish)
          : `${fmt(r.primaryCpuUsPerPublish + r.otherPrimaryCpuUsPerPublish)} (${fmt(r.primaryCpuUsPerPublish)} + ${fmt(r.otherPrimaryCpuUsPerPublish)})`;
      const redis = running.primaryPids.length === 1 ? "-" : fmt(r.redisCpuUsPerPublish);
      rows.push(
        `| ${setup.label} | ${r.publishes} | ${fmt(100 * r.deliveredShare, 2)} % | ${fmt(r.workerCpuUsPerPublish)} | ${primaries} | ${fmt(r.primaryBytesPerPublish, 0)} | ${redis} |`,
      );
    } catch (error) {
      rows.push(`| ${setup.label} | failed: ${error.message} | | | | | |`);
    } finally {
      await stopAll(ctx, pids);
      rmSync(ctx.dir, { recursive: true, force: true });
    }
  }
  mkdirSync(`${BENCH_DIR}results`, { recursive: true });
  const date = new Date().toISOString();
  writeFileSync(
    `${BENCH_DIR}results/${date.slice(0, 10)}-many-topics${quick ? "-quick" : ""}.json`,
    `${JSON.stringify({ date, settings, results }, null, 2)}\n`,
  );
  process.stdout.write(`${rows.join("\n")}\n`);
}

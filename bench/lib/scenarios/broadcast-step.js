/**
 * What both broadcast clients (the Node one in broadcast.js, the C one in broadcast-c.js) share: one step's result
 * from its counts and samples, and waiting for a target's servers to go idle after a step.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { cpuByRole } from "../proc.js";

/**
 * Before any step, each target carries this many publishes to one subscriber on each of its processes, so every
 * publish crosses its bus or bridge: the servers' JavaScript (the hub, ioredis, socket.io's adapters) is then
 * optimised by V8, as in a server that has been running, instead of being compiled during the first steps (that
 * cost a freshly started fleet 2-3 times as much CPU per publish at 200/s as the same fleet after a few thousand
 * publishes). `--cold` skips it.
 */
export const WARM_PUBLISHES = 20_000;

/** A settled target uses less than this share of one core over SETTLE_SAMPLE_MS. */
const SETTLE_SHARE = 0.1;
const SETTLE_SAMPLE_MS = 300;
const SETTLE_MAX_SAMPLES = 30;

function sumOf(byRole) {
  return Object.values(byRole).reduce((a, b) => a + b, 0);
}

/**
 * Waits (300 ms at least, 9 s at most) until the target's servers are idle: an overloaded step (socket.io at 200-400
 * publishes/s queues seconds of sends) otherwise goes on using the cores in whatever step comes next, which with
 * --interleave is another target's.
 */
export async function settle(processes) {
  for (let i = 0; i < SETTLE_MAX_SAMPLES; i += 1) {
    const before = sumOf(cpuByRole(processes));
    await sleep(SETTLE_SAMPLE_MS);
    if (sumOf(cpuByRole(processes)) - before < SETTLE_SHARE * SETTLE_SAMPLE_MS * 1000) return;
  }
}

/** The servers' CPU (µs) by role between two cpuByRole() samples. */
export function cpuBetween(start, end) {
  return Object.fromEntries(Object.keys(end).map((role) => [role, end[role] - (start[role] ?? 0)]));
}

/**
 * One step's result. `histogram` and `bySide.local`/`.remote` hold latencies in µs; `clientUs` is the client's CPU
 * and `softirqUs` the machine's softirq time over the same span as `cpuUsByRole` (the step and its drain).
 */
export function stepResult({
  step,
  subscribers,
  publishes,
  delivered,
  histogram,
  bySide,
  cpuUsByRole,
  clientUs,
  softirqUs,
  elapsedS,
  rejoined,
}) {
  const cpuUs = sumOf(cpuUsByRole);
  const expected = publishes * subscribers;
  const perDelivery = (us) => (delivered === 0 ? 0 : us / delivered);
  const at = (p, of = histogram) => (of.totalCount === 0 ? 0 : of.getValueAtPercentile(p) / 1000);
  const sideMs = (of) => ({ deliveries: of.totalCount, p50: at(50, of), p99: at(99, of) });
  return {
    publishesPerSecond: step.publishesPerSecond,
    publishes,
    targetDeliveriesPerSecond: step.publishesPerSecond * subscribers,
    deliveredPerSecond: delivered / step.durationS,
    deliveredShare: expected === 0 ? 0 : delivered / expected,
    latencyMs: { p50: at(50), p99: at(99), p99_9: at(99.9), max: histogram.maxValue / 1000 },
    latencyMsBySide: { local: sideMs(bySide.local), remote: sideMs(bySide.remote) },
    serverCpuUsPerDelivery: perDelivery(cpuUs),
    clientCpuUsPerDelivery: perDelivery(clientUs),
    softirqUsPerDelivery: perDelivery(softirqUs),
    serverCpuCores: cpuUs / 1e6 / elapsedS,
    serverCpuUsByRole: cpuUsByRole,
    rejoined,
  };
}

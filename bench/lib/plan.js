/** What the comparison runs, per mode (pure): rows of load settings, repetitions, pairs, and durations. */

const PROXIED_IDLE_MAX = 9000; // a proxy takes two fds per connection (nginx a few more); the hard `ulimit -n` here is 20,000
const SINGLE_PROCESS_IDLE_MAX = 19000; // one process holding them all, under the same limit
// wss://: TLS handshakes are slow to open in bulk on one client core and one server core: 9,000 through HAProxy took
// 23 s, and 20,000 to the workers took 57 s with 1,750 of them past the handshake timeout.
const TLS_IDLE_MAX = 500;

const HEADLINE = { name: "headline", connections: 100, messageBytes: 32, depth: 1 };

const SWEEPS = [
  { name: "c1", connections: 1, messageBytes: 32, depth: 1 },
  { name: "c1000", connections: 1000, messageBytes: 32, depth: 1 },
  { name: "m4k", connections: 100, messageBytes: 4096, depth: 1 },
  { name: "m64k", connections: 100, messageBytes: 65536, depth: 1 },
  { name: "p16", connections: 100, messageBytes: 32, depth: 16 },
  { name: "m4k-p16", connections: 100, messageBytes: 4096, depth: 16 },
];

/**
 * The side-by-side pairs: two targets at the same time, servers sharing the server cores, each with its own client.
 * `ratePerSecond`: each target's fixed rate in the open-loop half, below what either does when sharing.
 */
const PAIRS = [
  {
    a: "wsfleet-x1",
    b: "uws-x1",
    ratePerSecond: 20000,
    why: "the hot path: one wsfleet worker against a bare uWebSockets.js echo",
  },
  { a: "wsfleet-x1", b: "ws-x1", ratePerSecond: 10000, why: "one wsfleet worker against one ws process" },
  {
    a: "wsfleet-guide-haproxy-x{cores}",
    b: "wsfleet-nginx-x{cores}",
    ratePerSecond: 10000,
    why: "the proxy: the guide's HAProxy against nginx, the same wsfleet workers behind each",
  },
];

const PLANS = {
  full: {
    ns: [1, "cores", 4],
    repetitions: 3,
    warmupS: 1,
    durationS: 4,
    // One fixed rate for every target, below the slowest one's saturation (the guide's, pinned to one core).
    ratePerSecond: 5000,
    rateWarmupS: 0.5,
    rateDurationS: 3,
    // The first load on a fresh target, long enough for its rate to settle (the guide's Python takes longest).
    settleS: 6,
    baselineSettleS: 20,
    sweepWarmupS: 0.5,
    sweepDurationS: 2,
    sweeps: SWEEPS,
    idle: 20000,
    idleS: 2,
    connectS: 2,
    compareClients: true,
    compareDurationS: 3,
    pairs: PAIRS,
    pairRate: true,
    pairWarmupS: 1,
    pairDurationS: 4,
  },
  // Under 2 minutes: N = cores only; closed-loop rows and pairs, no idle, sweep, handshake or fixed-rate rows; a
  // settling load for the guide only; short windows; the same method.
  quick: {
    ns: ["cores"],
    repetitions: 3,
    warmupS: 0.2,
    durationS: 1,
    ratePerSecond: 0,
    settleS: 0,
    baselineSettleS: 3,
    sweepWarmupS: 0.3,
    sweepDurationS: 1,
    sweeps: [],
    idle: 0,
    idleS: 0,
    connectS: 0,
    compareClients: false,
    pairs: PAIRS,
    pairRate: false,
    pairWarmupS: 0.2,
    pairDurationS: 1,
  },
  smoke: {
    ns: ["cores"],
    repetitions: 1,
    warmupS: 0.2,
    durationS: 1,
    ratePerSecond: 0,
    settleS: 0,
    baselineSettleS: 0,
    sweepWarmupS: 0.2,
    sweepDurationS: 1,
    sweeps: SWEEPS.filter((s) => s.name === "m4k-p16"),
    idle: 50,
    idleS: 1,
    connectS: 1,
    compareClients: false,
    pairs: [],
    pairRate: false,
    pairWarmupS: 0.2,
    pairDurationS: 1,
  },
};

export function planFor(mode) {
  const plan = PLANS[mode];
  if (!plan) throw new Error(`unknown mode ${mode}`);
  return plan;
}

/** The worker counts to compare: 1, the number of cores, and 4 as in the guide (each once). */
export function workerCounts(plan, cores) {
  return [...new Set(plan.ns.map((n) => (n === "cores" ? cores : n)))];
}

/**
 * Which targets of a worker count run: every one at N = cores; at other N only the scaling rows (wsfleet
 * shared-port, without TLS) and, at 4 as in the guide, the guide and wsfleet --haproxy.
 */
export function keepTarget(id, n, cores) {
  if (n === cores) return true;
  // wss:// is measured at N = cores only: its rows are about what TLS costs, not about scaling.
  if (id.includes("-tls-")) return false;
  if (id.startsWith("wsfleet-shared-port-")) return true;
  return n === 4 && (id.startsWith("guide-") || id.startsWith("wsfleet-haproxy-"));
}

/** The pairs with `{cores}` filled in. */
export function pairsFor(plan, cores) {
  return plan.pairs.map((p) => ({ ...p, a: p.a.replace("{cores}", cores), b: p.b.replace("{cores}", cores) }));
}

/** The first row of a target, on its fresh processes: idle connections (memory from a fresh process); or none. */
export function idleRow(target, plan) {
  if (plan.idle === 0) return null;
  const max = target.tls
    ? TLS_IDLE_MAX
    : target.proxied
      ? PROXIED_IDLE_MAX
      : target.workers === 1
        ? SINGLE_PROCESS_IDLE_MAX
        : plan.idle;
  return { name: "idle", idle: Math.min(plan.idle, max), warmupS: 0.5, durationS: plan.idleS };
}

/** The load that lets a fresh target settle; its per-second rates say after how long it did. */
export function settleRow(target, plan) {
  return { ...HEADLINE, name: "settle", warmupS: 0, durationS: target.baseline ? plan.baselineSettleS : plan.settleS };
}

/** The rows measured in every repetition: closed loop, and the fixed rate when the plan has one. */
export function repeatedRows(plan) {
  const rows = [{ ...HEADLINE, warmupS: plan.warmupS, durationS: plan.durationS }];
  if (plan.ratePerSecond > 0)
    rows.push({
      ...HEADLINE,
      name: "rate",
      ratePerSecond: plan.ratePerSecond,
      warmupS: plan.rateWarmupS,
      durationS: plan.rateDurationS,
    });
  return rows;
}

/**
 * The clients compared on one wsfleet worker: the headline with cload, load.js and the Node floor, one after the
 * other in each repetition (their CPU per echo measured within seconds of each other); none on other targets.
 */
export function clientComparisonRows(target, plan) {
  if (target.id !== "wsfleet-x1" || !plan.compareClients) return [];
  return [
    ["headline-cload", "c"],
    ["headline-load.js", "node"],
    ["headline-node-floor", "node-floor"],
  ].map(([name, client]) => ({ ...HEADLINE, name, client, warmupS: plan.warmupS, durationS: plan.compareDurationS }));
}

/** The rows measured once at the end: sweeps (where the target has them), then handshakes. */
export function finalRows(target, plan) {
  const rows = [];
  if (target.sweep)
    for (const s of plan.sweeps) rows.push({ ...s, warmupS: plan.sweepWarmupS, durationS: plan.sweepDurationS });
  if (plan.connectS === 0) return rows;
  rows.push({
    name: "connect",
    connect: true,
    connections: 10,
    messageBytes: 32,
    warmupS: 0.5,
    durationS: plan.connectS,
  });
  return rows;
}

/** The rows of a side-by-side pair's repetition: closed loop, and each target at the pair's fixed rate. */
export function pairRows(pair, plan) {
  const base = { ...HEADLINE, warmupS: plan.pairWarmupS, durationS: plan.pairDurationS };
  return plan.pairRate ? [base, { ...base, name: "rate", ratePerSecond: pair.ratePerSecond }] : [base];
}

/**
 * load.js arguments for a row: the C client for echo and handshake rows when it can be built, load.js for idle
 * connections, and for a target that serves wss:// (`tls`) when the C client was built without TLS (`cClientTls`).
 */
export function loadArgs(row, port, pids, { cClient, cClientTls = false, tls = false }) {
  const args = [
    `${tls ? "wss" : "ws"}://127.0.0.1:${port}/`,
    "--json",
    "-w",
    String(row.warmupS),
    "-d",
    String(row.durationS),
  ];
  if (row.idle) args.push("--idle", String(row.idle), "--procs", "2");
  else {
    args.push("-c", String(row.connections), "-m", String(row.messageBytes));
    if (row.connect) args.push("--connect");
    else {
      args.push("-p", String(row.depth));
      if (row.ratePerSecond) args.push("--rate", String(row.ratePerSecond));
    }
    if (row.client === "node-floor") args.push("--client", "node-floor");
    else if (cClient && (!tls || cClientTls) && row.client !== "node") args.push("--client", "c");
  }
  if (pids.length > 0) args.push("--pids", pids.join(","));
  return args;
}

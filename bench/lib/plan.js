/** What the comparison runs, per mode (pure): rows of load settings, and durations. */

const PROXIED_IDLE_MAX = 9900;

const HEADLINE = { name: "headline", connections: 100, messageBytes: 32, depth: 1 };

const SWEEPS = [
  { name: "c1", connections: 1, messageBytes: 32, depth: 1 },
  { name: "c1000", connections: 1000, messageBytes: 32, depth: 1 },
  { name: "m4k", connections: 100, messageBytes: 4096, depth: 1 },
  { name: "m64k", connections: 100, messageBytes: 65536, depth: 1 },
  { name: "p16", connections: 100, messageBytes: 32, depth: 16 },
  { name: "m4k-p16", connections: 100, messageBytes: 4096, depth: 16 },
];

const PLANS = {
  full: {
    ns: "cores+4",
    warmupS: 2,
    durationS: 8,
    sweepWarmupS: 1,
    sweepDurationS: 5,
    sweeps: SWEEPS,
    idle: 10000,
    idleS: 2,
    connectS: 3,
  },
  // Under 2 minutes for the 8 targets (measured 127 s with 1 s warm-ups, 2 s idle and connect rows; trimmed).
  quick: {
    ns: "cores",
    warmupS: 0.5,
    durationS: 3,
    sweepWarmupS: 0.5,
    sweepDurationS: 2,
    sweeps: SWEEPS.filter((s) => s.name === "m4k-p16"),
    idle: 1000,
    idleS: 1,
    connectS: 1,
  },
  smoke: {
    ns: "cores",
    warmupS: 0.2,
    durationS: 1,
    sweepWarmupS: 0.2,
    sweepDurationS: 1,
    sweeps: SWEEPS.filter((s) => s.name === "m4k-p16"),
    idle: 50,
    idleS: 1,
    connectS: 1,
  },
};

export function planFor(mode) {
  const plan = PLANS[mode];
  if (!plan) throw new Error(`unknown mode ${mode}`);
  return plan;
}

/** The worker counts to compare: the number of cores, and 4 as in the guide (once if they are equal). */
export function workerCounts(plan, cores) {
  return plan.ns === "cores" ? [cores] : [...new Set([cores, 4])];
}

/** The rows for one target: idle first (memory from a fresh process), then load, then handshakes. */
export function rowsFor(target, plan) {
  // HAProxy needs two fds per connection and this machine's hard `ulimit -n` may be 20,000: stay just under.
  const idle = target.proxied ? Math.min(plan.idle, PROXIED_IDLE_MAX) : plan.idle;
  const rows = [{ name: "idle", idle, warmupS: 0.5, durationS: plan.idleS }];
  rows.push({ ...HEADLINE, warmupS: plan.warmupS, durationS: plan.durationS });
  if (target.sweep)
    for (const s of plan.sweeps) rows.push({ ...s, warmupS: plan.sweepWarmupS, durationS: plan.sweepDurationS });
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

/** load.js arguments for a row; `tls`: the target serves wss://. */
export function loadArgs(row, port, pids, tls = false) {
  const args = [
    `${tls ? "wss" : "ws"}://127.0.0.1:${port}/`,
    "--json",
    "-w",
    String(row.warmupS),
    "-d",
    String(row.durationS),
  ];
  if (row.idle) args.push("--idle", String(row.idle));
  else {
    args.push("-c", String(row.connections), "-m", String(row.messageBytes));
    if (row.connect) args.push("--connect");
    else args.push("-p", String(row.depth));
  }
  if (pids.length > 0) args.push("--pids", pids.join(","));
  return args;
}

/** The figures the report is about, derived from a run's raw JSON (pure). */
import { median } from "./repeat.js";

const row = (entry, name) => entry?.rows?.find((r) => r.name === name)?.result ?? null;
const ratio = (a, b) =>
  a === null || b === null || a === undefined || b === undefined || b === 0 ? null : Math.round((a / b) * 100) / 100;

/**
 * How busy the server cores were (server CPU per echo × echoes/s over the cores the servers were pinned to, in %):
 * with the client above 90 %, whether the servers were at their limit too. Null when not pinned or not measured.
 */
function serverBusyPercent(cpuUsPerMessage, perSecond, serverCores) {
  if (!serverCores || cpuUsPerMessage === null || cpuUsPerMessage === undefined) return null;
  return Math.round((cpuUsPerMessage * perSecond) / serverCores / 1e3) / 10;
}

/** serverBusyPercent in the repetition whose client was busiest. */
function busiestRepetitionServers(reps, serverCores) {
  if (reps.length === 0) return null;
  const busiest = reps.reduce((a, b) => (b.clientCpuPercent > a.clientCpuPercent ? b : a));
  return serverBusyPercent(busiest.serverCpuUsPerMessage, busiest.msgsPerSecond, serverCores);
}

export function headlineRows(report) {
  const byWorkers = new Map();
  for (const t of report.targets) if (t.baseline) byWorkers.set(t.workers, t);
  const guideForSingle = byWorkers.get(report.machine.cores);
  return report.targets.map((t) => {
    const r = row(t, "headline");
    const guide = row(byWorkers.get(t.workers) ?? guideForSingle, "headline");
    const entry = t.rows?.find((x) => x.name === "headline");
    const roles = entry?.cpuUsPerMessageByRole ?? null;
    const reps = entry?.repetitions ?? [];
    return {
      repetitions: reps.length,
      msgsRange: spread(reps, "msgsPerSecond"),
      cpuRange: spread(reps, "serverCpuUsPerMessage"),
      p99Range: spread(reps, "p99"),
      client: r?.client.name ?? null,
      clientBusyPercent:
        reps.length > 0 ? Math.max(...reps.map((x) => x.clientCpuPercent)) : (r?.client.cpuPercent ?? null),
      clientLimited: reps.some((x) => x.clientSaturated) || Boolean(r?.client.saturated),
      serverBusyPercent: busiestRepetitionServers(reps, report.method?.pinned?.servers.length),
      id: t.id,
      label: t.label,
      available: t.available,
      reason: t.reason ?? t.error ?? null,
      msgsPerSecond: r?.msgsPerSecondOverall ?? null,
      msgsPerSecondStdev: r?.msgsPerSecond.stdev ?? null,
      latencyUs: r?.latencyUs ?? null,
      serverCpuUsPerMessage: r?.serverCpuUsPerMessage ?? null,
      roles,
      clientCpuUsPerMessage: r?.client.cpuUsPerMessage ?? null,
      clientSaturated: r?.client.saturated ?? null,
      errors: r?.errors.total ?? null,
      msgsRatioToGuide: ratio(r?.msgsPerSecondOverall, guide?.msgsPerSecondOverall),
      cpuRatioToGuide: ratio(r?.serverCpuUsPerMessage, guide?.serverCpuUsPerMessage),
      p99RatioToGuide: ratio(r?.latencyUs.p99, guide?.latencyUs.p99),
    };
  });
}

export function sweepRows(report) {
  const out = [];
  for (const t of report.targets) {
    for (const r of t.rows ?? []) {
      if (["idle", "connect", "headline", "rate"].includes(r.name)) continue;
      out.push({
        id: t.id,
        row: r.name,
        settings: r.settings,
        msgsPerSecond: r.result.msgsPerSecondOverall,
        p50: r.result.latencyUs.p50,
        p99: r.result.latencyUs.p99,
        serverCpuUsPerMessage: r.result.serverCpuUsPerMessage,
        clientCpuUsPerMessage: r.result.client.cpuUsPerMessage,
        client: r.result.client.name,
        clientBusyPercent: r.result.client.cpuPercent,
        clientSaturated: r.result.client.saturated,
        errors: r.result.errors.total,
      });
    }
  }
  return out;
}

export function idleRows(report) {
  return report.targets
    .filter((t) => row(t, "idle"))
    .map((t) => {
      const entry = t.rows.find((r) => r.name === "idle");
      const r = entry.result;
      // Worker memory per connection, apart from the proxy's and the manager's.
      const perRole = { worker: 0, proxy: 0, manager: 0 };
      const baseRole = { worker: 0, proxy: 0, manager: 0 };
      for (const p of r.watched?.processes ?? []) {
        const role = entry.processes.find((q) => q.pid === p.pid)?.role ?? "worker";
        perRole[role] += p.rssStartBytes;
        baseRole[role] += p.rssBaselineBytes ?? p.rssStartBytes;
      }
      const per = (role) => (r.idle.opened > 0 ? Math.round((perRole[role] - baseRole[role]) / r.idle.opened) : null);
      return {
        id: t.id,
        opened: r.idle.opened,
        requested: r.idle.requested,
        openSeconds: r.idle.openSeconds,
        workerBaselineBytes: baseRole.worker,
        workerBytesPerConnection: per("worker"),
        proxyBytesPerConnection: perRole.proxy > 0 ? per("proxy") : null,
        allBytesPerConnection: r.idle.serverBytesPerConnection,
        errors: r.errors.total,
      };
    });
}

export function connectRows(report) {
  return report.targets
    .filter((t) => row(t, "connect"))
    .map((t) => {
      const r = row(t, "connect");
      return {
        id: t.id,
        handshakesPerSecond: r.handshakesPerSecond,
        p99: r.latencyUs.p99,
        serverCpuUsPerHandshake: r.serverCpuUsPerMessage,
        client: r.client.name,
        clientBusyPercent: r.client.cpuPercent,
        clientLimited: r.client.saturated,
        serverBusyPercent: serverBusyPercent(
          r.serverCpuUsPerMessage,
          r.handshakesPerSecond,
          report.method?.pinned?.servers.length,
        ),
        errors: r.errors.total,
      };
    });
}

/** Issue 6's targets, each met, missed, or not measurable in this run, with the figures. */
export function issueTargets(report) {
  const cores = report.machine.cores;
  const t = (id) => report.targets.find((x) => x.id === id);
  const headline = (id) => row(t(id), "headline");
  const guide = headline(`guide-x${cores}`);
  const shared = headline(`wsfleet-shared-port-x${cores}`);
  const hap = headline(`wsfleet-haproxy-x${cores}`);
  const check = (name, value, limit, cmp, unit, missing) => {
    if (value === null || value === undefined || Number.isNaN(value))
      return { name, status: "not measured", detail: missing };
    const met = cmp === "<=" ? value <= limit : value >= limit;
    return {
      name,
      status: met ? "met" : "missed",
      value,
      limit,
      detail: `${value}${unit} (target ${cmp} ${limit}${unit})`,
    };
  };
  const na = (id) => t(id)?.reason ?? t(id)?.error ?? `${id} not in this run`;
  const out = [];
  // [label, target row, metric, bound, comparison, target id]: each a ratio to the guide's row in the same run.
  const guideRatios = [
    ["server CPU/msg: shared-port ≤ 1/6 of the guide's", shared, "serverCpuUsPerMessage", 0.167, "<=", "shared-port"],
    ["server CPU/msg: --haproxy ≤ 1/3 of the guide's", hap, "serverCpuUsPerMessage", 0.333, "<=", "haproxy"],
    ["msgs/s: shared-port ≥ 4× the guide's", shared, "msgsPerSecondOverall", 4, ">=", "shared-port"],
    ["msgs/s: --haproxy ≥ 2.5× the guide's", hap, "msgsPerSecondOverall", 2.5, ">=", "haproxy"],
  ];
  for (const [label, target, metric, bound, comparison, id] of guideRatios) {
    out.push(
      check(label, ratio(target?.[metric], guide?.[metric]), bound, comparison, "×", na(`wsfleet-${id}-x${cores}`)),
    );
  }
  const fleet1 = row(t("wsfleet-x1"), "m4k-p16");
  const ws1 = row(t("ws-x1"), "m4k-p16");
  out.push(
    check(
      "server CPU/msg at 4 KiB, depth 16: one wsfleet worker ≤ 1/2 of one ws",
      ratio(fleet1?.serverCpuUsPerMessage, ws1?.serverCpuUsPerMessage),
      0.5,
      "<=",
      "×",
      "m4k-p16 rows missing",
    ),
  );
  out.push(
    check(
      "p99 at 100 connections: --haproxy ≤ 1/2 of the guide's",
      ratio(hap?.latencyUs.p99, guide?.latencyUs.p99),
      0.5,
      "<=",
      "×",
      na(`wsfleet-haproxy-x${cores}`),
    ),
  );
  const fastest = fastestHeadline(report);
  out.push(
    check(
      "load generator CPU per echo at depth 1 (on the fastest target)",
      fastest?.result.client.cpuUsPerMessage,
      4,
      "<=",
      " µs",
      "no headline row",
    ),
  );
  const ceiling = fastest ? clientCeiling(fastest.result) : null;
  out.push(
    check(
      "load generator ceiling ≥ 1.5× the fastest target's msgs/s",
      ratio(ceiling, fastest?.result.msgsPerSecondOverall),
      1.5,
      ">=",
      "×",
      "no headline row",
    ),
  );
  const idle = idleRows(report).find((r) => r.id === "wsfleet-x1");
  out.push(
    check(
      "worker RSS per idle connection (one wsfleet worker, 10,000 idle)",
      idle?.workerBytesPerConnection,
      2048,
      "<=",
      " B",
      "no idle row",
    ),
  );
  return out;
}

/** The headline row with the most msgs/s. */
export function fastestHeadline(report) {
  let best = null;
  for (const t of report.targets) {
    const r = row(t, "headline");
    if (r && (best === null || r.msgsPerSecondOverall > best.result.msgsPerSecondOverall))
      best = { id: t.id, result: r };
  }
  return best;
}

/** What one load process could do with a whole core to itself: 1 s of CPU over its CPU per echo. */
export function clientCeiling(result) {
  const us = result.client.cpuUsPerMessage;
  return us ? Math.round((1e6 / us) * result.client.procs) : null;
}

/** Median, lowest and highest of one figure over repetitions; null when none has it. */
export function spread(reps, key) {
  const values = reps.map((r) => (typeof key === "function" ? key(r) : r[key])).filter((v) => typeof v === "number");
  if (values.length === 0) return null;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** The fixed-rate row of every target: latency below saturation, median of the repetitions. */
export function rateRows(report) {
  return report.targets
    .map((t) => ({ t, entry: t.rows?.find((x) => x.name === "rate") }))
    .filter(({ entry }) => entry)
    .map(({ t, entry }) => {
      const reps = entry.repetitions ?? [];
      return {
        id: t.id,
        ratePerSecond: entry.settings.ratePerSecond,
        achieved: spread(reps, "msgsPerSecond"),
        p50: spread(reps, "p50"),
        p99: spread(reps, "p99"),
        cpu: spread(reps, "serverCpuUsPerMessage"),
        client: entry.result.client.name,
        clientBusyPercent: Math.max(...reps.map((x) => x.clientCpuPercent)),
        errors: reps.reduce((a, x) => a + x.errors, 0),
      };
    });
}

/**
 * wss:// against ws://: each TLS target beside its plain twin of the same run (the id without `-tls`), each figure
 * as { plain, tls }: server CPU per echo at the fixed rate (neither side saturated), handshakes, memory.
 */
export function tlsRows(report) {
  const byId = (rows) => new Map(rows.map((r) => [r.id, r]));
  const rate = byId(rateRows(report));
  const connect = byId(connectRows(report));
  const idle = byId(idleRows(report));
  const out = [];
  for (const t of report.targets.filter((x) => x.id.includes("-tls-"))) {
    const twin = t.id.replace("-tls-", "-");
    const pairOf = (rows, figure) => ({
      plain: figure(rows.get(twin)) ?? null,
      tls: figure(rows.get(t.id)) ?? null,
    });
    out.push({
      id: t.id,
      twin,
      rateCpu: pairOf(rate, (r) => r?.cpu?.median),
      ratePerSecond: rate.get(t.id)?.ratePerSecond ?? null,
      handshakesPerSecond: pairOf(connect, (r) => r?.handshakesPerSecond),
      serverCpuUsPerHandshake: pairOf(connect, (r) => r?.serverCpuUsPerHandshake),
      bytesPerIdleConnection: pairOf(idle, (r) => r?.allBytesPerConnection),
      idleOpened: pairOf(idle, (r) => r?.opened),
    });
  }
  return out;
}

/** Side by side: per pair and row, a's figure over b's in each repetition, then median and range of the ratios. */
export function pairSummaries(report) {
  const out = [];
  for (const pair of report.pairs ?? []) {
    for (const [name, reps] of Object.entries(pair.rows ?? {})) {
      if (reps.length === 0) continue;
      const ratioOf = (key) => spread(reps, (r) => (r.b[key] ? Math.round((r.a[key] / r.b[key]) * 1000) / 1000 : null));
      out.push({
        a: pair.a,
        b: pair.b,
        why: pair.why,
        row: name,
        ratePerSecond: name === "rate" ? pair.ratePerSecond : null,
        repetitions: reps.length,
        aMsgs: spread(reps, (r) => r.a.msgsPerSecond),
        bMsgs: spread(reps, (r) => r.b.msgsPerSecond),
        aCpu: spread(reps, (r) => r.a.serverCpuUsPerMessage),
        bCpu: spread(reps, (r) => r.b.serverCpuUsPerMessage),
        cpuRatio: ratioOf("serverCpuUsPerMessage"),
        msgsRatio: ratioOf("msgsPerSecond"),
        p99Ratio: ratioOf("p99"),
        clientBusyPercent: Math.max(...reps.flatMap((r) => [r.a.clientCpuPercent, r.b.clientCpuPercent])),
        clientLimited: reps.some((r) => r.a.clientSaturated || r.b.clientSaturated),
        errors: reps.reduce((a, r) => a + r.a.errors + r.b.errors, 0),
      });
    }
  }
  return out;
}

/** How long each fresh target took to settle under load. */
export function settleRows(report) {
  return report.targets
    .filter((t) => t.settle)
    .map((t) => ({
      id: t.id,
      seconds: t.settle.seconds,
      settledAfterS: t.settle.settledAfterS,
      first: t.settle.secondMsgs[0] ?? null,
      last: t.settle.secondMsgs.at(-1) ?? null,
    }));
}

/** Issue 15's targets: the clients' cost per echo, no client-limited headline row, the hot-path overhead. */
export function clientTargets(report) {
  const t = (id) => report.targets.find((x) => x.id === id);
  const fleetRows = t("wsfleet-x1")?.rows ?? [];
  const named = (name) => fleetRows.find((r) => r.name === name)?.result;
  // The clients' own comparison (cload, load.js and the floor in turn) when the run has it, else the headline rows.
  const cRow = named("headline-cload") ?? named("headline");
  const jsRow = named("headline-load.js");
  const floorRow = named("headline-node-floor");
  const user = (r) => r?.client.cpuUserUsPerMessage ?? null;
  // Each repetition's user CPU per echo of the three clients (an older run measured each once: one repetition).
  const reps = t("wsfleet-x1")?.clientComparison ?? [
    {
      "headline-cload": { clientUserUsPerMessage: user(cRow) },
      "headline-load.js": { clientUserUsPerMessage: user(jsRow) },
      "headline-node-floor": { clientUserUsPerMessage: user(floorRow) },
    },
  ];
  // a/b in each repetition, as "median× [lowest–highest]"
  const repRatio = (a, b) => {
    const values = reps
      .map((r) => ratio(r[a]?.clientUserUsPerMessage, r[b]?.clientUserUsPerMessage))
      .filter((v) => v !== null);
    if (values.length === 0) return null;
    const range = values.length > 1 ? ` [${Math.min(...values)}–${Math.max(...values)}]` : "";
    return { median: median(values), text: `${median(values)}×${range}` };
  };
  const jsToC = repRatio("headline-load.js", "headline-cload");
  const floorToC = repRatio("headline-node-floor", "headline-cload");
  const jsToFloor = repRatio("headline-load.js", "headline-node-floor");
  const hot = pairSummaries(report).find((p) => p.a === "wsfleet-x1" && p.b === "uws-x1" && p.row === "headline");
  const limited = headlineRows(report).filter((r) => r.clientLimited);
  const verdict = (value, ok) => (value === null || value === undefined ? "not measured" : ok ? "met" : "missed");
  const cUser = cRow?.client.name === "cload" ? user(cRow) : null;
  const jsRatio = cUser === null ? null : (jsToC?.median ?? null);
  return [
    {
      name: "C client ≤ 2.5 µs user CPU per echo (headline, one wsfleet worker)",
      status: verdict(cUser, cUser <= 2.5),
      detail: cUser === null ? "–" : `${cUser} µs user (${cRow.client.cpuUsPerMessage} µs with the kernel)`,
    },
    {
      name: "load.js ≤ 2× the C client's user CPU per echo (same target, same settings)",
      status: verdict(jsRatio, jsRatio <= 2),
      detail:
        jsRatio === null
          ? "–"
          : `ratios ${reps.length > 1 ? `per repetition (the three clients in turn, ${reps.length} times)` : "(each client measured once)"}: load.js ${jsToC.text} the C client; the Node floor (one read callback and one write per echo, nothing else) ${floorToC?.text ?? "–"}; load.js ${jsToFloor?.text ?? "–"} the Node floor. User µs per echo${reps.length > 1 ? " in the median repetitions" : ""}: load.js ${user(jsRow)}, floor ${user(floorRow) ?? "–"}, cload ${cUser}`,
    },
    {
      name: "no headline row client-limited",
      status: headlineRows(report).some((r) => r.msgsPerSecond !== null)
        ? limited.length === 0
          ? "met"
          : "missed"
        : "not measured",
      detail:
        limited.length === 0
          ? "none above 90 % of a core"
          : limited
              .map(
                (r) =>
                  `${r.id} (${r.client} ${r.clientBusyPercent} %${r.serverBusyPercent === null ? "" : `, servers ${r.serverBusyPercent} %`})`,
              )
              .join(", "),
    },
    {
      name: "wsfleet worker ≤ 1.03× a bare uWebSockets.js echo side by side (server CPU per echo at saturation)",
      status: verdict(hot?.cpuRatio?.median, hot?.cpuRatio?.median <= 1.03),
      detail: hot
        ? `${hot.cpuRatio.median}× [${hot.cpuRatio.min}–${hot.cpuRatio.max}] over ${hot.repetitions} repetitions`
        : "–",
    },
  ];
}

#!/usr/bin/env node
/**
 * The comparison runner. Every target is started from a clean state and kept running while the same rows are
 * measured on each in turn, repetition after repetition (interleaved, so a slow minute of a shared machine hits
 * every target alike); the headline figures are the median repetition. Then the side-by-side pairs: two targets at
 * the same time, each with its own client. Writes results/<date>-<host>.json and, for a full run, RESULTS.md and
 * the charts. `--pin`: clients on their own core(s), servers on the rest (lib/pin.js).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cloadHasTls, ensureCload } from "./lib/cload.js";
import { collectMachine } from "./lib/machine.js";
import { clientPrefix, pinLayout, pinSelfToServers } from "./lib/pin.js";
import {
  clientComparisonRows,
  finalRows,
  idleRow,
  keepTarget,
  pairRows,
  pairsFor,
  planFor,
  repeatedRows,
  settleRow,
  workerCounts,
} from "./lib/plan.js";
import { medianRow, repetitionFigures, settledAfterS } from "./lib/repeat.js";
import { writeReport } from "./lib/report.js";
import { line, Session, stopLiveSessions } from "./lib/session.js";
import { buildTargets, singleTargets } from "./lib/targets/index.js";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));

/** The C client when `cc` can build it, and whether it speaks wss://; else load.js measures every row (the report says so). */
function cClientAvailable() {
  try {
    ensureCload();
  } catch (error) {
    line(`C client unavailable, load.js measures every row: ${error.message}`);
    return { cClient: false, cClientTls: false };
  }
  const cClientTls = cloadHasTls();
  if (!cClientTls)
    line(
      "the C client was built without TLS (no OpenSSL headers: apt-get install libssl-dev), load.js measures wss://",
    );
  return { cClient: true, cClientTls };
}

/** The first load on a fresh target: how long until its rate settled. */
async function settle(session, plan, prefix) {
  const row = settleRow(session.target, plan);
  if (row.durationS === 0) return;
  const measured = await session.measure(row, prefix);
  if (!measured) return;
  const samples = measured.result.msgsPerSecond.samples;
  session.entry.settle = { seconds: row.durationS, secondMsgs: samples, settledAfterS: settledAfterS(samples) };
}

/**
 * The clients on one target, in turn within each repetition (the order rotated): each one's median row, and per
 * repetition every client's figures, so their CPU per echo compares within seconds rather than minutes apart.
 */
async function compareClients(session, rows, repetitions) {
  const measuredByName = new Map(rows.map((r) => [r.name, []]));
  const perRepetition = [];
  for (let rep = 0; rep < repetitions && session.ok; rep += 1) {
    const figures = {};
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[(i + rep) % rows.length];
      const measured = await session.measure(row);
      if (!measured) break;
      measuredByName.get(row.name).push(measured);
      figures[row.name] = repetitionFigures(measured.result);
    }
    perRepetition.push(figures);
  }
  for (const measured of measuredByName.values()) if (measured.length > 0) session.entry.rows.push(medianRow(measured));
  session.entry.clientComparison = perRepetition;
}

/** Every target alive at once: idle row, settle, the repeated rows in rotating order, then the rows measured once. */
async function runTargets(targets, plan, options) {
  const sessions = [];
  for (const target of targets) sessions.push(await new Session(target, options).start());
  for (const s of sessions) {
    const row = idleRow(s.target, plan);
    const idle = row && (await s.measure(row));
    if (idle) s.entry.rows.push(idle);
    await settle(s, plan, options.prefix);
  }
  const repeated = repeatedRows(plan);
  const reps = new Map(sessions.map((s) => [s, repeated.map(() => [])]));
  for (let rep = 0; rep < plan.repetitions; rep += 1) {
    line(`repetition ${rep + 1} of ${plan.repetitions}`);
    // Rotate the order, so no target is always measured first or right after the same neighbour.
    const order = sessions.map((_, i) => sessions[(i + rep) % sessions.length]);
    for (const s of order) {
      for (const [i, row] of repeated.entries()) {
        const measured = await s.measure(row);
        if (measured) reps.get(s)[i].push(measured);
      }
    }
  }
  for (const s of sessions) {
    for (const rows of reps.get(s)) if (rows.length > 0 && s.ok) s.entry.rows.push(medianRow(rows));
    const clients = clientComparisonRows(s.target, plan);
    if (clients.length > 0) await compareClients(s, clients, plan.repetitions);
    for (const row of finalRows(s.target, plan)) {
      const measured = await s.measure(row);
      if (measured) s.entry.rows.push(measured);
    }
  }
  return Promise.all(sessions.map((s) => s.stop()));
}

/** Two targets at once, each with its own client: ratios of a and b measured in the same seconds. */
async function runPair(pair, targets, plan, options) {
  const entry = { a: pair.a, b: pair.b, why: pair.why, ratePerSecond: pair.ratePerSecond, rows: {} };
  const [ta, tb] = [pair.a, pair.b].map((id) => targets.find((t) => t.id === id));
  if (!ta || !tb) return { ...entry, reason: "a target of the pair is not in this run" };
  const prefixes = [clientPrefix(options.layout, 0), clientPrefix(options.layout, 1)];
  const sessions = [new Session(ta, options), new Session(tb, options)];
  for (const s of sessions) await s.start();
  line(`side by side: ${pair.a} and ${pair.b}`);
  await Promise.all(sessions.map((s, i) => settle(s, plan, prefixes[i])));
  for (const row of pairRows(pair, plan)) entry.rows[row.name] = [];
  for (let rep = 0; rep < plan.repetitions && sessions.every((s) => s.ok); rep += 1) {
    for (const row of pairRows(pair, plan)) {
      const [ra, rb] = await Promise.all(sessions.map((s, i) => s.measure(row, prefixes[i])));
      if (ra && rb) entry.rows[row.name].push({ a: repetitionFigures(ra.result), b: repetitionFigures(rb.result) });
    }
  }
  entry.targets = await Promise.all(sessions.map((s) => s.stop()));
  return entry;
}

const USAGE = `Usage: node bench/run.js [options]   (npm run bench = build, then --pin)

  --quick          N = cores only, closed-loop rows and the side-by-side pairs, 1 s windows (under 2 minutes)
  --smoke          two cheap targets and the shortest windows (what npm test runs)
  --pin            clients on their own core(s), servers on the rest (taskset)
  --targets <ids>  only these targets, comma-separated (e.g. wsfleet-x1,uws-x1)
  --out <dir>      where the JSON goes (default bench/results)
  --no-report      a full run without rewriting RESULTS.md and the charts
  -h, --help`;

function parseRunArgs(args) {
  try {
    return parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        smoke: { type: "boolean", default: false },
        pin: { type: "boolean", default: false },
        targets: { type: "string" },
        out: { type: "string" },
        "no-report": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`wsfleet bench: ${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
}

/** Ctrl-C or SIGTERM mid-run: stop every target that is up (a run holds many at once), remove `tmp`, then exit. */
function stopTargetsOnSignal(tmp) {
  let stopping = false;
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ]) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      line(`${signal}: stopping every target that is up, then exiting`);
      stopLiveSessions()
        .catch((error) => line(`could not stop every target: ${error.message}`))
        .finally(() => {
          rmSync(tmp, { recursive: true, force: true });
          process.exit(code);
        });
    });
  }
}

async function main() {
  const values = parseRunArgs(process.argv.slice(2));
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const mode = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const plan = planFor(mode);
  const cores = os.availableParallelism();
  const layout = values.pin ? pinLayout(cores) : null;
  if (values.pin && !layout) line("--pin needs 2 cores or more: not pinned");
  const loadBefore = os.loadavg();
  let targets = [
    ...workerCounts(plan, cores).flatMap((n) => buildTargets(n, { cores }).filter((t) => keepTarget(t.id, n, cores))),
    ...singleTargets(),
  ];
  const pairTargets = [...targets];
  // The smoke test's cheap targets: one wsfleet worker and one ws process.
  const only = values.targets ?? (mode === "smoke" ? "wsfleet-x1,ws-x1" : null);
  if (only) {
    const wanted = only.split(",");
    targets = targets.filter((t) => wanted.includes(t.id));
  }
  const startedAt = new Date();
  const tmp = mkdtempSync(`${os.tmpdir()}/wsfleet-bench-`);
  stopTargetsOnSignal(tmp);
  if (layout) pinSelfToServers(layout);
  const options = { tmp, ...cClientAvailable(), prefix: clientPrefix(layout), layout };
  line(
    `wsfleet bench (${mode}): ${targets.length} targets, ${plan.repetitions} repetitions, ` +
      `${layout ? `servers on cores ${layout.servers}, clients on ${layout.clients}` : "not pinned"}, logs in ${tmp}`,
  );
  const entries = await runTargets(targets, plan, options);
  const pairs = [];
  for (const pair of only && mode !== "smoke" ? [] : pairsFor(plan, cores))
    pairs.push(await runPair(pair, pairTargets, plan, options));
  const report = {
    schema: 2,
    mode,
    startedAt: startedAt.toISOString(),
    elapsedSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    // cores as counted before --pin narrowed this process's affinity
    machine: { ...collectMachine(), cores, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg() },
    method: {
      pinned: layout,
      cClient: options.cClient,
      cClientTls: options.cClientTls,
      cc: options.cClient ? execFileSync("cc", ["--version"], { encoding: "utf8" }).split("\n")[0] : null,
    },
    plan,
    targets: entries,
    pairs,
  };
  const outDir = values.out ?? `${BENCH_DIR}results`;
  mkdirSync(outDir, { recursive: true });
  const date = startedAt.toISOString().slice(0, 10);
  const file = `${outDir}/${date}-${os.hostname()}${mode === "full" ? "" : `-${mode}`}.json`;
  writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  line(`wrote ${file} (${report.elapsedSeconds} s)`);
  if (mode === "full" && !values["no-report"]) line(`wrote ${writeReport(report, BENCH_DIR, file)}`);
  const allEntries = [...entries, ...pairs.flatMap((p) => p.targets ?? [])];
  const failed = allEntries.filter((e) => e.error || (e.leftovers ?? []).length > 0);
  rmSync(tmp, { recursive: true, force: true });
  if (failed.length > 0) line(`FAILED targets: ${failed.map((e) => e.id).join(", ")}`);
  // Explicit exit: a child that refused to die must not keep the runner alive (it was reported above).
  process.exit(failed.length > 0 ? 1 : 0);
}

await main();

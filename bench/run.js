#!/usr/bin/env node
/**
 * The comparison runner: every target started the same way from a clean state, measured by the same load
 * generator with the same settings in one run, stopped, and checked for leftovers. Writes results/<date>-<host>.json
 * and, for a full run, RESULTS.md and the charts.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { collectMachine } from "./lib/machine.js";
import { loadArgs, planFor, rowsFor, workerCounts } from "./lib/plan.js";
import { writeReport } from "./lib/report.js";
import { stopAll } from "./lib/targets/children.js";
import { buildTargets, singleTargets } from "./lib/targets/index.js";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const LOAD = `${BENCH_DIR}load.js`;

function runLoadProcess(args) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [LOAD, ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`load.js ${args.join(" ")} failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

/** CPU µs per message by role, from the per-pid figures of one result. */
function cpuByRole(result, processes) {
  const roles = { worker: 0, proxy: 0, manager: 0 };
  if (!result.watched || result.messages === 0) return null;
  for (const p of result.watched.processes) {
    const role = processes.find((q) => q.pid === p.pid)?.role ?? "worker";
    roles[role] += p.cpuUs;
  }
  for (const r of Object.keys(roles)) roles[r] = Math.round((roles[r] / result.messages) * 1000) / 1000;
  return roles;
}

/** The last lines of each log of a failed start, so the report says why. */
function readLogs(dir) {
  const out = {};
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".log"))) {
    out[name] = readFileSync(`${dir}/${name}`, "utf8").split("\n").slice(-8).join("\n");
  }
  return out;
}

function line(text) {
  process.stderr.write(`${text}\n`);
}

async function runTarget(target, plan, tmp) {
  const entry = {
    id: target.id,
    label: target.label,
    workers: target.workers,
    baseline: Boolean(target.baseline),
    rows: [],
  };
  const available = target.available();
  if (available !== true) {
    entry.available = false;
    entry.reason = available;
    line(`${target.id}: ${available}`);
    return entry;
  }
  entry.available = true;
  const ctx = { dir: mkdtempSync(`${tmp}/${target.id}-`), children: [], cleanups: [] };
  const seen = new Set();
  const started = Date.now();
  try {
    const running = await target.start(ctx);
    entry.startSeconds = (Date.now() - started) / 1000;
    for (const row of rowsFor(target, plan)) {
      const processes = running.collect();
      for (const p of processes) seen.add(p.pid);
      const result = await runLoadProcess(
        loadArgs(
          row,
          running.port,
          processes.map((p) => p.pid),
          running.tls,
        ),
      );
      const { name, ...settings } = row;
      entry.rows.push({ name, settings, processes, cpuUsPerMessageByRole: cpuByRole(result, processes), result });
      line(
        `${target.id} ${name}: ${row.idle ? `${result.idle.opened} idle, ${result.idle.serverBytesPerConnection} B/conn` : `${result.msgsPerSecondOverall} msgs/s`}` +
          `, p99 ${result.latencyUs.p99} µs, server ${result.serverCpuUsPerMessage ?? "-"} µs/msg, client ${result.client.cpuUsPerMessage ?? "-"} µs/msg, ${result.errors.total} errors`,
      );
    }
  } catch (error) {
    entry.error = String(error.message ?? error);
    line(`${target.id}: FAILED: ${entry.error}`);
    entry.logs = readLogs(ctx.dir);
  } finally {
    entry.leftovers = await stopAll(ctx, [...seen]);
    if (entry.leftovers.length > 0) line(`${target.id}: LEFT RUNNING, killed: ${JSON.stringify(entry.leftovers)}`);
  }
  return entry;
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      targets: { type: "string" },
      out: { type: "string" },
      "no-report": { type: "boolean", default: false },
    },
  });
  const mode = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const plan = planFor(mode);
  const cores = os.availableParallelism();
  let targets = [...workerCounts(plan, cores).flatMap((n) => buildTargets(n, { cores })), ...singleTargets()];
  // The smoke test's cheap targets: one wsfleet worker and one ws process.
  const only = values.targets ?? (mode === "smoke" ? "wsfleet-x1,ws-x1" : null);
  if (only) {
    const wanted = only.split(",");
    targets = targets.filter((t) => wanted.includes(t.id));
  }
  const startedAt = new Date();
  const tmp = mkdtempSync(`${os.tmpdir()}/wsfleet-bench-`);
  line(`wsfleet bench (${mode}): ${targets.length} targets, logs in ${tmp}`);
  const entries = [];
  for (const target of targets) entries.push(await runTarget(target, plan, tmp));
  const report = {
    schema: 1,
    mode,
    startedAt: startedAt.toISOString(),
    elapsedSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: collectMachine(),
    plan,
    targets: entries,
  };
  const outDir = values.out ?? `${BENCH_DIR}results`;
  mkdirSync(outDir, { recursive: true });
  const date = startedAt.toISOString().slice(0, 10);
  const file = `${outDir}/${date}-${os.hostname()}${mode === "full" ? "" : `-${mode}`}.json`;
  writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  line(`wrote ${file} (${report.elapsedSeconds} s)`);
  if (mode === "full" && !values["no-report"]) line(`wrote ${writeReport(report, BENCH_DIR, file)}`);
  const failed = entries.filter((e) => e.error || (e.leftovers ?? []).length > 0);
  rmSync(tmp, { recursive: true, force: true });
  if (failed.length > 0) line(`FAILED targets: ${failed.map((e) => e.id).join(", ")}`);
  // Explicit exit: a child that refused to die must not keep the runner alive (it was reported above).
  process.exit(failed.length > 0 ? 1 : 0);
}

await main();

/**
 * One target's life in a run: started from a clean state, rows measured by a load process (pinned to a client core
 * under --pin), stopped and checked for leftovers. The runner keeps several alive at once to interleave repetitions.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadArgs } from "./plan.js";
import { stopAll } from "./targets/children.js";

const LOAD = fileURLToPath(new URL("../load.js", import.meta.url));

/** Runs load.js with the hard fd limit (20,000 idle connections need them), under `prefix` (taskset) if any. */
function runLoadProcess(args, prefix) {
  const command = [...prefix, process.execPath, LOAD, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      "/bin/sh",
      ["-c", 'ulimit -n "$(ulimit -Hn)"; exec "$@"', "sh", ...command],
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

export function line(text) {
  process.stderr.write(`${text}\n`);
}

/** Every started session not yet stopped: what an interrupted run must stop before it exits. */
const LIVE = new Set();

/** Stops every session still running (SIGINT or SIGTERM to the runner). */
export function stopLiveSessions() {
  return Promise.all([...LIVE].map((session) => session.stop()));
}

export class Session {
  /** options: { tmp, cClient (use cload for echo rows), prefix (the client's taskset command, or []) } */
  constructor(target, options) {
    this.target = target;
    this.options = options;
    this.entry = {
      id: target.id,
      label: target.label,
      workers: target.workers,
      baseline: Boolean(target.baseline),
      rows: [],
    };
    this.ctx = null;
    this.running = null;
    this.seen = new Set();
  }

  get ok() {
    return this.running !== null && this.entry.error === undefined;
  }

  async start() {
    const available = this.target.available();
    if (available !== true) {
      this.entry.available = false;
      this.entry.reason = available;
      line(`${this.target.id}: ${available}`);
      return this;
    }
    this.entry.available = true;
    this.ctx = { dir: mkdtempSync(`${this.options.tmp}/${this.target.id}-`), children: [], cleanups: [] };
    LIVE.add(this);
    const started = Date.now();
    try {
      this.running = await this.target.start(this.ctx);
      this.entry.startSeconds = (Date.now() - started) / 1000;
    } catch (error) {
      this.fail(error);
    }
    return this;
  }

  fail(error) {
    this.entry.error = String(error.message ?? error);
    line(`${this.target.id}: FAILED: ${this.entry.error}`);
    if (this.ctx) this.entry.logs = readLogs(this.ctx.dir);
  }

  /** Measures one row; returns { name, settings, processes, cpuUsPerMessageByRole, result } or null after a failure. */
  async measure(row, prefix = this.options.prefix) {
    if (!this.ok) return null;
    try {
      const processes = this.running.collect();
      for (const p of processes) this.seen.add(p.pid);
      const pids = processes.map((p) => p.pid);
      const result = await runLoadProcess(
        loadArgs(row, this.running.port, pids, { ...this.options, tls: this.running.tls }),
        prefix,
      );
      const { name, ...settings } = row;
      const c = result.client;
      line(
        `${this.target.id} ${name}: ${row.idle ? `${result.idle.opened} idle, ${result.idle.serverBytesPerConnection} B/conn` : `${result.msgsPerSecondOverall} msgs/s`}` +
          `, p99 ${result.latencyUs.p99} µs, server ${result.serverCpuUsPerMessage ?? "-"} µs/msg, ${c.name} ${c.cpuPercent}% of a core` +
          `${c.saturated ? " (client-limited)" : ""}, ${result.errors.total} errors`,
      );
      return { name, settings, processes, cpuUsPerMessageByRole: cpuByRole(result, processes), result };
    } catch (error) {
      this.fail(error);
      return null;
    }
  }

  async stop() {
    if (this.ctx === null || !LIVE.has(this)) return this.entry;
    LIVE.delete(this);
    this.entry.leftovers = await stopAll(this.ctx, [...this.seen]);
    if (this.entry.leftovers.length > 0)
      line(`${this.target.id}: LEFT RUNNING, killed: ${JSON.stringify(this.entry.leftovers)}`);
    return this.entry;
  }
}

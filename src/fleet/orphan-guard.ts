import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LineSplitter } from "../log/line-splitter.js";

/** Every process the primary starts inherits this variable, naming the primary, so the guard can find it. */
export const PRIMARY_PID_VARIABLE = "WSFLEET_PRIMARY_PID";

/**
 * The processes whose environment names `primaryPid`: what the primary started, even one it had no time to list
 * (a SIGKILL between fork and the `+pgid` line).
 */
function markedProcesses(primaryPid: number): number[] {
  const marker = `${PRIMARY_PID_VARIABLE}=${primaryPid}`;
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid || Number(entry) === primaryPid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(marker)) found.push(Number(entry));
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return found;
}

/** The guard's side: keep the list, kill what is listed (and what names the primary) when the primary goes away. */
export function runOrphanGuard(input: NodeJS.ReadableStream): void {
  const primaryPid = process.ppid;
  const groups = new Set<number>();
  // The primary's runtime directory: it cannot remove it after a SIGKILL, so we do.
  let runtimeDir: string | undefined;
  // The guard lives in its own process group: a terminal's Ctrl-C is for the primary, not for us.
  for (const signal of ["SIGINT", "SIGHUP", "SIGTERM"] as const) process.on(signal, () => {});
  const lines = new LineSplitter((line) => {
    if (line[0] === "d") {
      runtimeDir = line.slice(1) || undefined;
      return;
    }
    const pgid = Number(line.slice(1));
    if (!Number.isSafeInteger(pgid) || pgid <= 1) return;
    if (line[0] === "+") groups.add(pgid);
    if (line[0] === "-") groups.delete(pgid);
  });
  input.setEncoding("utf8");
  input.on("data", (chunk: string) => lines.push(chunk));
  const killAll = () => {
    for (const pgid of groups) killGroup(pgid, "SIGKILL");
    for (const pid of markedProcesses(primaryPid)) killGroup(pid, "SIGKILL") || killProcess(pid);
    if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
    process.exit(0);
  };
  input.on("end", killAll);
  input.on("error", killAll);
}

/** Signals a whole process group (Supervisor's stopasgroup/killasgroup); a group that is gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function killProcess(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

/** The primary's side: start the guard and tell it which process groups to kill if we die. */
export class OrphanGuard {
  private child: ChildProcess | undefined;
  private readonly groups = new Set<number>();
  private runtimeDir: string | undefined;
  private closed = false;

  constructor(private readonly onExit: (code: number | null, signal: NodeJS.Signals | null) => void = () => {}) {}

  start(): void {
    const script = fileURLToPath(new URL("../guard.js", import.meta.url));
    const child = spawn(process.execPath, ["--max-old-space-size=16", script], {
      stdio: ["pipe", "ignore", "inherit"],
      detached: true,
    });
    child.unref();
    child.stdin?.on("error", () => {});
    child.once("exit", (code, signal) => {
      this.child = undefined;
      if (this.closed) return;
      this.onExit(code, signal);
      // Someone killed the guard: start another and hand it the list.
      this.start();
    });
    this.child = child;
    if (this.runtimeDir) this.write(`d${this.runtimeDir}`);
    for (const pgid of this.groups) this.write(`+${pgid}`);
  }

  /** A directory to remove if the primary dies without removing it itself. */
  removeOnDeath(dir: string): void {
    this.runtimeDir = dir;
    this.write(`d${dir}`);
  }

  watch(pgid: number): void {
    this.groups.add(pgid);
    this.write(`+${pgid}`);
  }

  unwatch(pgid: number): void {
    this.groups.delete(pgid);
    this.write(`-${pgid}`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** On a clean stop every group is gone already; closing stdin lets the guard exit with nothing to kill. */
  close(): void {
    this.closed = true;
    // The primary removes its own directory on a clean exit; the guard must not race it.
    this.write("d");
    this.child?.stdin?.end();
  }

  private write(line: string): void {
    this.child?.stdin?.write(`${line}\n`);
  }
}

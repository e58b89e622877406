import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { LineSplitter } from "../log/line-splitter.js";
import { PRIMARY_PID_VARIABLE } from "./orphan-guard.js";
import { killGroup, killProcess } from "./process-group.js";

/** After the primary's death, look again this late for a child caught between fork and exec at the first look. */
const RESCAN_DELAYS_MS = [0, 100, 300, 600];

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

/** Removes every directory whose path starts with `prefix` (`$TMPDIR/wsfleet-<pid>-`). */
function removeByPrefix(prefix: string): void {
  const dir = path.dirname(prefix);
  const start = path.basename(prefix);
  const entries = (() => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  })();
  for (const entry of entries) {
    if (entry.startsWith(start)) rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * The guard's side: keep the list of process groups the primary sends (`+pgid`, `-pgid`), and when its stdin
 * closes (the primary died, SIGKILL included) kill what is listed and what names the primary, and remove its runtime
 * directory. `k` first means a clean stop: nothing to do.
 */
export function runOrphanGuard(input: NodeJS.ReadableStream, primaryPid: number, removeOnDeathPrefix: string): void {
  const groups = new Set<number>();
  let cleanStop = false;
  // The guard lives in its own process group: a terminal's Ctrl-C is for the primary, not for us.
  for (const signal of ["SIGINT", "SIGHUP", "SIGTERM"] as const) process.on(signal, () => {});
  const lines = new LineSplitter((line) => {
    if (line === "k") {
      cleanStop = true;
      return;
    }
    const pgid = Number(line.slice(1));
    if (!Number.isSafeInteger(pgid) || pgid <= 1) return;
    if (line[0] === "+") groups.add(pgid);
    if (line[0] === "-") groups.delete(pgid);
  });
  input.setEncoding("utf8");
  input.on("data", (chunk: string) => lines.push(chunk));
  const sweep = () => {
    for (const pgid of groups) killGroup(pgid, "SIGKILL");
    for (const pid of markedProcesses(primaryPid)) killGroup(pid, "SIGKILL") || killProcess(pid, "SIGKILL");
    if (removeOnDeathPrefix) removeByPrefix(removeOnDeathPrefix);
  };
  let done = false;
  const onPrimaryGone = () => {
    if (done) return;
    done = true;
    if (cleanStop) process.exit(0);
    for (const delayMs of RESCAN_DELAYS_MS) setTimeout(sweep, delayMs);
    setTimeout(() => process.exit(0), RESCAN_DELAYS_MS[RESCAN_DELAYS_MS.length - 1] ?? 0);
  };
  input.on("end", onPrimaryGone);
  input.on("error", onPrimaryGone);
}

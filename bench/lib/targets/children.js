/** The targets' processes: spawned with a log and a raised fd limit, named by role, stopped, checked for leftovers. */
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { descendantsOf, isAlive, listProcesses, readCmdline } from "../proc.js";
import { ROOT_DIR } from "./paths.js";
import { pollUntil } from "./ready.js";

const STOP_TIMEOUT_MS = 15_000;
const LEFTOVER_GRACE_MS = 200; // grandchildren outlive their parent's exit by a moment

/**
 * Spawns through sh so `ulimit -n` is raised to the hard limit first: 10,000 idle connections need the fds.
 * Every child is recorded in `ctx.children`, so the runner stops it even when the start fails half-way.
 */
export function spawnLogged(ctx, name, command, args, env = {}) {
  const log = openSync(`${ctx.dir}/${name}.log`, "a");
  const child = spawn("/bin/sh", ["-c", 'ulimit -n "$(ulimit -Hn)"; exec "$@"', "sh", command, ...args], {
    cwd: ROOT_DIR,
    env: { ...process.env, ...env },
    stdio: ["ignore", log, log],
    detached: true,
  });
  ctx.children.push(child);
  return child;
}

async function waitForExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return Promise.race([new Promise((resolve) => child.once("exit", () => resolve(true))), sleep(timeoutMs, false)]);
}

/** SIGTERM the manager (its graceful stop), then SIGKILL its process group if it lingers. */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, "SIGTERM");
  } catch {}
  if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    await waitForExit(child, 2000);
  }
}

/** The `exec "$@"` of spawnLogged means the child's pid is the program's own pid. Pids of a tree, with roles. */
export function rolesOf(rootPid, managerPattern) {
  const processes = listProcesses();
  return descendantsOf(rootPid, processes).map((pid) => {
    const cmdline = readCmdline(pid);
    const role = pid === rootPid || managerPattern.test(cmdline) ? "manager" : "worker";
    return { pid, role, cmdline };
  });
}

/** Stops what a start spawned (in reverse order), then checks that none of the `seen` pids is left; kills and reports stragglers. */
export async function stopAll(ctx, seenPids) {
  const processes = listProcesses();
  const tree = ctx.children.flatMap((c) => descendantsOf(c.pid, processes));
  for (const cleanup of ctx.cleanups) {
    try {
      await cleanup();
    } catch {}
  }
  for (const child of [...ctx.children].reverse()) await stopChild(child);
  const seen = [...new Set([...seenPids, ...tree, ...ctx.children.map((c) => c.pid)])];
  await pollUntil(() => !seen.some(isAlive), LEFTOVER_GRACE_MS);
  const leftovers = seen.filter(isAlive).map((pid) => ({ pid, cmdline: readCmdline(pid) }));
  for (const { pid } of leftovers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  return leftovers;
}

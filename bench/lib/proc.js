/** Reading processes from /proc: CPU time and resident memory of the servers under test, and process trees. */
import { readdirSync, readFileSync } from "node:fs";

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (sysconf(_SC_CLK_TCK)), fixed at 100 on every Linux ABI
const PAGE_BYTES = 4096;

/** Parses /proc/<pid>/stat text: the comm field may hold spaces and parentheses, so split after the last ')'. */
function parseStat(text) {
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text
    .slice(close + 2)
    .trim()
    .split(" ");
  // fields[0] is field 3 (state) of proc(5)
  return {
    comm,
    state: fields[0],
    ppid: Number(fields[1]),
    cpuUs: ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND,
    rssBytes: Number(fields[21]) * PAGE_BYTES,
  };
}

/** One process's stat, or null when it is gone. */
function readStat(pid) {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

export function readCmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/** True when the pid exists and is not a zombie. */
export function isAlive(pid) {
  const stat = readStat(pid);
  return stat !== null && stat.state !== "Z";
}

/** Every live process as { pid, ppid, comm }. */
export function listProcesses() {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== null && stat.state !== "Z") out.push({ pid: Number(name), ppid: stat.ppid, comm: stat.comm });
  }
  return out;
}

/** The pid and all its live descendants (pure over a process list). */
export function descendantsOf(rootPid, processes) {
  const children = new Map();
  for (const p of processes) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p.pid);
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop();
    if (!processes.some((p) => p.pid === pid)) continue;
    out.push(pid);
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  return out;
}

/** Snapshot of CPU time and RSS of each watched pid (missing ones are reported as gone). */
export function sampleProcesses(pids) {
  return pids.map((pid) => {
    const stat = readStat(pid);
    return stat === null ? { pid, gone: true, cpuUs: 0, rssBytes: 0 } : { pid, comm: stat.comm, ...stat };
  });
}

/** CPU time so far of each role's processes (worker, manager, redis...), summed per role. */
export function cpuByRole(processes) {
  const samples = sampleProcesses(processes.map((p) => p.pid));
  const byRole = {};
  processes.forEach((p, i) => {
    byRole[p.role] = (byRole[p.role] ?? 0) + (samples[i]?.cpuUs ?? 0);
  });
  return byRole;
}

/**
 * The whole machine's softirq time so far, in µs (/proc/stat's `cpu` line). On loopback the receiving side of each
 * TCP segment (the client's socket for a delivery) runs as a softirq, mostly on the sender's core, and the kernel
 * counts that time to no process: it is in neither the servers' nor the client's CPU.
 */
export function machineSoftirqUs() {
  const fields = readFileSync("/proc/stat", "utf8").slice(0, 200).split("\n")[0].trim().split(/\s+/);
  // cpu user nice system idle iowait irq softirq …
  return (Number(fields[7]) * 1e6) / CLOCK_TICKS_PER_SECOND;
}

/**
 * `--pin`: the load generator on its own core(s), the servers on the rest, with taskset(1), so a client and a server
 * never take turns on one core. With 2 cores: servers on core 0, clients on core 1.
 */
import { execFileSync } from "node:child_process";

/** Which cores go to whom (pure): one client core per 4 cores, at least one, from the top. */
export function pinLayout(cores) {
  if (cores < 2) return null;
  const clientCores = Math.max(1, Math.floor(cores / 4));
  const all = Array.from({ length: cores }, (_, i) => i);
  return { servers: all.slice(0, cores - clientCores), clients: all.slice(cores - clientCores) };
}

/** Pins this process and its threads to the server cores: every target it spawns inherits them. */
export function pinSelfToServers(layout) {
  execFileSync("taskset", ["-a", "-p", "-c", layout.servers.join(","), String(process.pid)], { stdio: "ignore" });
}

/** The command prefix that runs load client `index` on its client core (no prefix when not pinned). */
export function clientPrefix(layout, index = 0) {
  return layout ? ["taskset", "-c", String(layout.clients[index % layout.clients.length])] : [];
}

/**
 * broadcast.js `--pin-servers`: a target's server processes (role "worker") each on one core, the i-th (by pid) on
 * core i mod `cores`, every thread of it; its primaries, Redis and the client stay free. Returns the cores given,
 * by pid, so the report can say where each one ran.
 */
export function pinServersApart(processes, cores) {
  const workers = processes.filter((p) => p.role === "worker").sort((a, b) => a.pid - b.pid);
  return workers.map(({ pid }, i) => {
    const core = i % cores;
    execFileSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], { stdio: "ignore" });
    return { pid, core };
  });
}

/**
 * What the wsfleet targets share: the built CLI with `workers` workers on free consecutive ports, one more free
 * port after them for a frontend, and the fleet's process tree by role.
 */
import { execFileSync } from "node:child_process";
import { freePortRange } from "../ports.js";
import { rolesOf, spawnLogged } from "./children.js";
import { proxyProcess } from "./haproxy.js";
import { PRIMARY } from "./paths.js";
import { waitForWebSockets } from "./ready.js";
import { Running } from "./target.js";

/** Whether the built wsfleet CLI has an option: some targets land on other branches. */
function wsfleetSupports(option) {
  try {
    return execFileSync(process.execPath, [PRIMARY, "--help"], { encoding: "utf8" }).includes(option);
  } catch {
    return false;
  }
}

/** Load goes to the first worker's port unless `front` says otherwise. */
const toFirstWorker = async (_ctx, { basePort }) => ({ port: basePort, proxy: null });

/**
 * A wsfleet target. `requires`: a CLI option this build must have (null: none). `args({ basePort, frontendPort })`:
 * the options after --workers and --base-port. `workersAnswer`: whether each worker's own port takes handshakes.
 * `front(ctx, ports)`: starts what stands in front, if anything, and says where load goes ({ port, proxy }).
 */
export function wsfleetTarget({
  id,
  label,
  workers,
  sweep = false,
  proxied = false,
  requires = null,
  args = () => [],
  workersAnswer = true,
  front = toFirstWorker,
}) {
  return {
    id,
    label,
    workers,
    sweep,
    proxied,
    available: () =>
      requires === null || wsfleetSupports(requires) ? true : `not available in this build (no ${requires})`,
    async start(ctx) {
      const basePort = await freePortRange(workers + 1);
      const ports = { basePort, frontendPort: basePort + workers };
      const primary = spawnLogged(ctx, "wsfleet", process.execPath, [
        PRIMARY,
        "--workers",
        String(workers),
        "--base-port",
        String(basePort),
        ...args(ports),
      ]);
      const { port, proxy } = await front(ctx, ports);
      const workerPorts = workersAnswer ? Array.from({ length: workers }, (_, i) => basePort + i) : [];
      await waitForWebSockets([...workerPorts, port], primary);
      return new Running({
        port,
        collect: () => [
          ...rolesOf(primary.pid, /guard\.js/).map((p) => (/haproxy/.test(p.cmdline) ? { ...p, role: "proxy" } : p)),
          // a proxy of several processes (nginx's master and workers) lists them itself
          ...(proxy ? (proxy.processes?.() ?? [proxyProcess(proxy)]) : []),
        ],
      });
    },
  };
}

/**
 * What the wsfleet targets share: the built CLI with `workers` workers on free consecutive ports, one more free
 * port after them for a frontend, and the fleet's process tree by role.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
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

/** A throw-away self-signed certificate for localhost in `dir`, key in the same file (as HAProxy's `crt` files). */
function makeCertificate(dir) {
  const file = path.join(dir, "bench-tls.pem");
  execFileSync("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
    ...["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ...["-keyout", file, "-out", `${file}.crt`],
  ]);
  execFileSync("sh", ["-c", 'cat "$1.crt" >> "$1"', "sh", file]);
  return file;
}

/** Load goes to the first worker's port unless `front` says otherwise. */
const toFirstWorker = async (_ctx, { basePort }) => ({ port: basePort, proxy: null });

/**
 * A wsfleet target. `requires`: a CLI option this build must have (null: none). `args({ basePort, frontendPort })`:
 * the options after --workers and --base-port. `workersAnswer`: whether each worker's own port takes handshakes.
 * `front(ctx, ports)`: starts what stands in front, if anything, and says where load goes ({ port, proxy }).
 * `tls`: started with --tls-cert (a throw-away certificate); load and readiness checks speak wss://.
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
  tls = false,
}) {
  return {
    id,
    label,
    workers,
    sweep,
    proxied,
    tls,
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
        ...(tls ? ["--tls-cert", makeCertificate(ctx.dir)] : []),
      ]);
      const { port, proxy } = await front(ctx, ports);
      const workerPorts = workersAnswer ? Array.from({ length: workers }, (_, i) => basePort + i) : [];
      // With --haproxy the workers behind it stay plain; without, every port they serve speaks TLS.
      await waitForWebSockets(workerPorts, primary, { tls: tls && !proxied });
      await waitForWebSockets([port], primary, { tls });
      return new Running({
        port,
        tls,
        collect: () => [
          ...rolesOf(primary.pid, /guard\.js/).map((p) => (/haproxy/.test(p.cmdline) ? { ...p, role: "proxy" } : p)),
          // a proxy of several processes (nginx's master and workers) lists them itself
          ...(proxy ? (proxy.processes?.() ?? [proxyProcess(proxy)]) : []),
        ],
      });
    },
  };
}

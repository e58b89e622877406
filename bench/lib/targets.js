/**
 * The servers under comparison. Each target starts from a clean state in its own temporary folder, reports when
 * it answers WebSocket handshakes, names its processes by role (worker, proxy, manager), and stops, after which
 * the runner checks that none of its processes is left.
 */
import { execFileSync, spawn } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { openWebSocket } from "./connection.js";
import { renderGuideHaproxyConfig, renderSupervisordConfig } from "./haproxy-config.js";
import { freeGuideOffset, freePortRange } from "./ports.js";
import { descendantsOf, isAlive, listProcesses, readCmdline } from "./proc.js";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));
const ROOT_DIR = fileURLToPath(new URL("../..", import.meta.url));
const PRIMARY = `${ROOT_DIR}dist/primary.js`;
const GUIDE_APP = `${ROOT_DIR}test/fixtures/app.py`;
const PM2 = `${BENCH_DIR}node_modules/pm2/bin/pm2`;
const SYSTEM_PYTHON = "/usr/bin/python3"; // Debian's, with python3-websockets; a pyenv python3 on PATH may lack it
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * Spawns through sh so `ulimit -n` is raised to the hard limit first: 10,000 idle connections need the fds.
 * Every child is recorded in `ctx.children`, so the runner stops it even when the start fails half-way.
 */
function spawnLogged(ctx, name, command, args, env = {}) {
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

/** Waits until every port completes a WebSocket handshake. */
async function waitForWebSockets(ports, child) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (const port of ports) {
    for (;;) {
      if (child && child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was ready`);
      try {
        const { socket } = await openWebSocket({ host: "127.0.0.1", port, timeoutMs: 2000 });
        socket.destroy();
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`port ${port} not ready after ${READY_TIMEOUT_MS} ms: ${error.message}`);
        await sleep(100);
      }
    }
  }
}

async function waitForExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return Promise.race([new Promise((resolve) => child.once("exit", () => resolve(true))), sleep(timeoutMs, false)]);
}

/** SIGTERM the manager (its graceful stop), then SIGKILL its process group if it lingers. */
export async function stopChild(child) {
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
function rolesOf(rootPid, managerPattern) {
  const processes = listProcesses();
  return descendantsOf(rootPid, processes).map((pid) => {
    const cmdline = readCmdline(pid);
    const role = pid === rootPid || managerPattern.test(cmdline) ? "manager" : "worker";
    return { pid, role, cmdline };
  });
}

function haproxyVersion() {
  try {
    return execFileSync("haproxy", ["-v"], { encoding: "utf8" }).split("\n")[0];
  } catch {
    return null;
  }
}

/** Whether the built wsfleet CLI has an option: targets 5 and 6 land on other branches. */
export function wsfleetSupports(option) {
  try {
    return execFileSync(process.execPath, [PRIMARY, "--help"], { encoding: "utf8" }).includes(option);
  } catch {
    return false;
  }
}

async function startHaproxy(ctx, workers, basePort) {
  const frontendPort = await freePortRange(1);
  const config = `${ctx.dir}/haproxy.cfg`;
  writeFileSync(config, renderGuideHaproxyConfig({ frontendPort, basePort, workers }));
  const child = spawnLogged(ctx, "haproxy", "haproxy", ["-db", "-f", config]);
  return { child, frontendPort };
}

/** A started target: where to send load, and which pids to watch (with roles). */
class Running {
  constructor({ port, collect }) {
    this.port = port;
    this.collect = collect;
  }
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
  await sleep(200);
  const seen = [...new Set([...seenPids, ...tree, ...ctx.children.map((c) => c.pid)])];
  const leftovers = seen.filter(isAlive).map((pid) => ({ pid, cmdline: readCmdline(pid) }));
  for (const { pid } of leftovers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  return leftovers;
}

function fleetTarget(id, label, workers, extraArgs, { sweep = false, haproxy = false, option = null } = {}) {
  return {
    id,
    label,
    workers,
    sweep,
    proxied: haproxy || option === "--haproxy",
    available: () => (option === null || wsfleetSupports(option) ? true : `not available in this build (no ${option})`),
    async start(ctx) {
      const basePort = await freePortRange(workers + 1);
      const frontendPort = basePort + workers;
      const args = [
        PRIMARY,
        "--workers",
        String(workers),
        "--base-port",
        String(basePort),
        ...extraArgs({ frontendPort, basePort }),
      ];
      const primary = spawnLogged(ctx, "wsfleet", process.execPath, args);
      const proxy = haproxy ? await startHaproxy(ctx, workers, basePort) : null;
      const workerPorts = option === "--shared-port" ? [] : Array.from({ length: workers }, (_, i) => basePort + i);
      const frontPort =
        option === "--haproxy" || option === "--shared-port" ? frontendPort : proxy ? proxy.frontendPort : basePort;
      await waitForWebSockets([...workerPorts, frontPort], primary);
      return new Running({
        port: frontPort,
        collect: () => [
          ...rolesOf(primary.pid, /guard\.js/).map((p) => (/haproxy/.test(p.cmdline) ? { ...p, role: "proxy" } : p)),
          ...(proxy ? [{ pid: proxy.child.pid, role: "proxy", cmdline: readCmdline(proxy.child.pid) }] : []),
        ],
      });
    },
  };
}

/** Every target of issue 6 for N workers. */
export function buildTargets(n, { cores }) {
  const suffix = `×${n}`;
  const sweepN = n === cores;
  return [
    {
      id: `guide-x${n}`,
      label: `guide: app.py ${suffix} under supervisord + HAProxy`,
      workers: n,
      sweep: sweepN,
      baseline: true,
      proxied: true,
      available: () => (haproxyVersion() ? true : "haproxy is not installed"),
      async start(ctx) {
        const first = await freeGuideOffset(n);
        const { dir } = ctx;
        const conf = `${dir}/supervisord.conf`;
        writeFileSync(
          conf,
          renderSupervisordConfig({
            dir,
            command: `${SYSTEM_PYTHON} ${GUIDE_APP}`,
            workers: n,
            firstProcessNumber: first,
          }),
        );
        const supervisord = spawnLogged(ctx, "supervisord", "supervisord", ["-n", "-c", conf]);
        const proxy = await startHaproxy(ctx, n, 8000 + first);
        const ports = Array.from({ length: n }, (_, i) => 8000 + first + i);
        await waitForWebSockets([...ports, proxy.frontendPort], supervisord);
        return new Running({
          port: proxy.frontendPort,
          collect: () => [
            ...rolesOf(supervisord.pid, /supervisord/),
            { pid: proxy.child.pid, role: "proxy", cmdline: readCmdline(proxy.child.pid) },
          ],
        });
      },
    },
    {
      id: `cluster-ws-x${n}`,
      label: `Node cluster + ws ${suffix}`,
      workers: n,
      available: () => true,
      async start(ctx) {
        const port = await freePortRange(1);
        const child = spawnLogged(ctx, "cluster", process.execPath, [`${BENCH_DIR}servers/cluster-ws.js`], {
          PORT: String(port),
          WORKERS: String(n),
        });
        await waitForWebSockets([port], child);
        await sleep(500); // all workers listening, not just the first
        return new Running({ port, collect: () => rolesOf(child.pid, /^$/) });
      },
    },
    {
      id: `pm2-ws-x${n}`,
      label: `PM2 cluster mode + ws ${suffix}`,
      workers: n,
      available: () => true,
      async start(ctx) {
        const port = await freePortRange(1);
        const { dir } = ctx;
        const env = { ...process.env, PM2_HOME: `${dir}/pm2`, PORT: String(port) };
        const pm2 = (...args) =>
          execFileSync(process.execPath, [PM2, ...args], { env, cwd: dir, stdio: "pipe", encoding: "utf8" });
        ctx.cleanups.push(() => pm2("kill"));
        pm2("start", `${BENCH_DIR}servers/ws-echo.cjs`, "-i", String(n), "--name", "wsbench");
        const godPid = Number(readFileSync(`${dir}/pm2/pm2.pid`, "utf8"));
        await waitForWebSockets([port], null);
        await sleep(500);
        return new Running({ port, collect: () => rolesOf(godPid, /PM2 v/) });
      },
    },
    fleetTarget(`wsfleet-guide-haproxy-x${n}`, `wsfleet ${suffix} + the guide's HAProxy`, n, () => [], {
      haproxy: true,
    }),
    fleetTarget(
      `wsfleet-haproxy-x${n}`,
      `wsfleet --haproxy ${suffix}`,
      n,
      ({ frontendPort }) => ["--haproxy", "--frontend-port", String(frontendPort)],
      {
        sweep: sweepN,
        option: "--haproxy",
      },
    ),
    fleetTarget(
      `wsfleet-shared-port-x${n}`,
      `wsfleet shared-port ${suffix}`,
      n,
      ({ frontendPort }) => ["--shared-port", String(frontendPort)],
      {
        sweep: sweepN,
        option: "--shared-port",
      },
    ),
  ];
}

export function singleTargets() {
  return [
    fleetTarget("wsfleet-x1", "one wsfleet worker", 1, () => [], { sweep: true }),
    {
      id: "ws-x1",
      label: "one ws process",
      workers: 1,
      sweep: true,
      available: () => true,
      async start(ctx) {
        const port = await freePortRange(1);
        const child = spawnLogged(ctx, "ws", process.execPath, [`${BENCH_DIR}servers/ws-echo.js`], {
          PORT: String(port),
        });
        await waitForWebSockets([port], child);
        return new Running({ port, collect: () => rolesOf(child.pid, /^$/).map((p) => ({ ...p, role: "worker" })) });
      },
    },
  ];
}

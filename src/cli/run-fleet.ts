import { WsfleetError } from "../errors.js";
import { Fleet } from "../fleet/fleet.js";
import { PRIMARY_PID_VARIABLE } from "../fleet/orphan-guard.js";
import { assertPortFree } from "../fleet/port-check.js";
import { builtInSpawner, execSpawner } from "../fleet/spawn.js";
import { HaproxyBalancer } from "../haproxy/balancer.js";
import { formatAddress } from "../haproxy/config.js";
import type { Logger } from "../log/logger.js";
import { serveMetrics } from "../metrics/server.js";
import { waitForPort } from "../net/probe-port.js";
import type { Options } from "../options.js";
import { serveControl } from "./control-server.js";
import { createRuntimeDir } from "./runtime-dir.js";

/** Starts the fleet and maps signals to it, as supervisord and gunicorn's arbiter do. */
export async function runFleet(options: Options, logger: Logger): Promise<void> {
  // Inherited by every worker and by haproxy: the orphan guard finds them by it if we are SIGKILLed mid-spawn.
  process.env[PRIMARY_PID_VARIABLE] = String(process.pid);
  const runtimeDir = await createRuntimeDir();
  // Every port is checked before any process starts: the metrics port here, the workers' in fleet.start().
  if (options.metrics) {
    await assertPortFree(options.metrics.host, options.metrics.port, { port: "--metrics", host: "--metrics" });
  }
  // --haproxy: its binary, ports and config are checked before any process starts.
  const balancer = options.haproxy ? await HaproxyBalancer.prepare(options, logger, runtimeDir) : undefined;
  const fleet = new Fleet(options, {
    logger,
    spawn: options.exec ? execSpawner(options, options.exec) : builtInSpawner(options),
    readiness: !options.exec ? "ipc" : options.sharedPort === undefined ? "probe" : "uptime",
    probeReady: (slot, isCancelled) => waitForPort(options.host, slot.port, isCancelled),
    traffic: balancer,
  });
  // HAProxy goes last: once the workers have closed their connections.
  const stopAll = () => fleet.stop(() => balancer?.stop() ?? Promise.resolve());
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === "SIGINT") {
        logger.event("warn", "shutdown", "second SIGINT: killing every worker now");
        fleet.kill();
        balancer?.kill();
        process.exit(130);
      }
      return;
    }
    stopping = true;
    logger.event(
      "info",
      "shutdown",
      `received ${signal}: stopping ${fleet.status().length} workers (connections closed with 1001)`,
    );
    void stopAll().then(() => {
      logger.event("info", "shutdown", `all workers${balancer ? " and haproxy" : ""} stopped; exiting`);
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => {
    if (!stopping) void fleet.rollingRestart();
  });
  process.on("SIGTTIN", () => {
    if (!stopping) void fleet.addWorker();
  });
  process.on("SIGTTOU", () => {
    if (!stopping) void fleet.removeWorker();
  });
  fleet.on("all-fatal", () => {
    logger.event("error", "fatal", "every worker is FATAL: nothing left to serve; exiting with status 1");
    stopping = true;
    void stopAll().then(() => process.exit(1));
  });
  fleet.removeOnDeath(runtimeDir);
  try {
    await fleet.start();
  } catch (error) {
    await balancer?.stop();
    throw error;
  }
  if (balancer) {
    try {
      await balancer.start(fleet);
    } catch (error) {
      stopping = true;
      await stopAll();
      throw new WsfleetError("WSFLEET_HAPROXY_FATAL", `haproxy could not start: ${(error as Error).message}`, 1);
    }
    balancer.onFatal(() => {
      logger.event("error", "fatal", "haproxy is FATAL: nothing can reach the workers; exiting with status 1");
      stopping = true;
      void stopAll().then(() => process.exit(1));
    });
  }
  const startedAt = new Date().toISOString();
  await serveControl(runtimeDir, async () => ({
    pid: process.pid,
    startedAt,
    workers: fleet.status(),
    haproxy: await balancer?.status(),
  }));
  if (options.metrics) {
    const server = await serveMetrics(options.metrics.host, options.metrics.port, () => fleet.status()).catch(
      async (error: Error) => {
        // Taken between the check and now: the workers are up already, so stop them before reporting it.
        stopping = true;
        await stopAll();
        throw error;
      },
    );
    server.unref();
  }

  logger.event(
    "info",
    "started",
    `wsfleet started: ${options.workers} workers of '${options.exec ?? "built-in uWebSockets.js echo"}' on ${options.host}:${options.basePort}-${options.basePort + options.workers - 1}`,
    {
      pid: process.pid,
      guardPid: fleet.guardPid,
      workers: options.workers,
      basePort: options.basePort,
      host: options.host,
    },
  );
  if (balancer && options.haproxy) {
    const stats = options.haproxy.stats;
    logger.event(
      "info",
      "haproxy-started",
      `haproxy (pid ${balancer.pid}) serves ws://${formatAddress(options.haproxy.frontend)}/ in front of the workers; runtime API ${balancer.runtime.socketPath}${stats ? `; stats http://${formatAddress(stats)}/ and /metrics` : ""}`,
      {
        pid: balancer.pid,
        frontendHost: options.haproxy.frontend.host,
        frontendPort: options.haproxy.frontend.port,
        runtimeDir: balancer.runtimeDir,
        socket: balancer.runtime.socketPath,
      },
    );
  }
}

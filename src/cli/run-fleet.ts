import { portInUse } from "../errors.js";
import { Fleet } from "../fleet/fleet.js";
import { findPortHolder } from "../fleet/port-check.js";
import { builtInSpawner, execSpawner } from "../fleet/spawn.js";
import type { Logger } from "../log/logger.js";
import { serveMetrics } from "../metrics/server.js";
import { waitForPort } from "../net/probe-port.js";
import type { Options } from "../options.js";

/** Starts the fleet and maps signals to it, as supervisord and gunicorn's arbiter do. */
export async function runFleet(options: Options, logger: Logger): Promise<void> {
  const fleet = new Fleet(options, {
    logger,
    spawn: options.exec ? execSpawner(options, options.exec) : builtInSpawner(options),
    readiness: !options.exec ? "ipc" : options.sharedPort === undefined ? "tcp" : "uptime",
    probePort: (port, isCancelled) => waitForPort(options.host, port, isCancelled),
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === "SIGINT") {
        logger.event("warn", "shutdown", "second SIGINT: killing every worker now");
        fleet.kill();
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
    void fleet.stop().then(() => {
      logger.event("info", "shutdown", "all workers stopped; exiting");
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
    void fleet.stop().then(() => process.exit(1));
  });
  await fleet.start();
  if (options.metrics) {
    const { host, port } = options.metrics;
    await serveMetrics(host, port, () => fleet.status()).then(
      (server) => server.unref(),
      async (error: NodeJS.ErrnoException) => {
        // The workers are up already: stop them, then report like any port in use.
        await fleet.stop();
        throw error.code === "EADDRINUSE" ? portInUse(host, port, await findPortHolder(port), "--metrics port") : error;
      },
    );
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
}

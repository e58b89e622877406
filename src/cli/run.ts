import path from "node:path";
import { BusHub } from "../bus/hub.js";
import { RedisBroker } from "../bus/redis-broker.js";
import type { Options } from "../config/validate.js";
import { WsfleetError } from "../errors.js";
import { Fleet } from "../fleet/fleet.js";
import { workerSpawner } from "../fleet/spawn.js";
import { HaproxyBalancer } from "../haproxy/balancer.js";
import { formatAddress } from "../haproxy/config.js";
import type { Logger } from "../log/logger.js";
import { serveMetrics } from "../metrics/server.js";
import { assertPortFree } from "../net/port-check.js";
import { waitForPort } from "../net/probe-port.js";
import { systemClock } from "../supervise/clock.js";
import { OrphanGuard } from "../supervise/orphan-guard.js";
import { killGroup } from "../supervise/process-group.js";
import { serveControl } from "./control-server.js";
import { Primary } from "./primary.js";
import { BUS_SOCKET, createRuntimeDir, runtimeDirPrefix } from "./runtime-dir.js";
import type { ServiceNotifier } from "./sd-notify.js";

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * `wsfleet` without a subcommand: start the orphan guard first (so a SIGKILL at any moment after leaves nothing),
 * check every port, start the workers, then HAProxy once they have settled, then hand signals to the Primary.
 */
export async function runFleet(options: Options, logger: Logger, service?: ServiceNotifier): Promise<void> {
  const { fleet: fleetOptions, supervision } = options;
  const removeOnDeathPrefix = runtimeDirPrefix(process.pid, options.runtimeDir);
  const guard = new OrphanGuard({
    primaryPid: process.pid,
    removeOnDeathPrefix,
    onExit: (code, signal) =>
      logger.event("warn", "guard-exited", `orphan guard exited (${signal ?? code}); starting another`),
  });
  guard.start();
  const failEarly = async (error: unknown, stop: () => Promise<void>): Promise<never> => {
    await stop();
    guard.close();
    throw error;
  };
  const runtimeDir = await createRuntimeDir(removeOnDeathPrefix).catch((error) => failEarly(error, async () => {}));
  // Every port is checked before any process starts: the metrics port here, HAProxy's in prepare(), the workers' in
  // fleet.start().
  if (options.metrics) {
    await assertPortFree(options.metrics.host, options.metrics.port, { port: "--metrics", host: "--metrics" }).catch(
      (error) => failEarly(error, async () => {}),
    );
  }
  const balancer = options.haproxy
    ? await HaproxyBalancer.prepare(
        {
          haproxy: options.haproxy,
          servers: {
            programName: fleetOptions.name,
            host: fleetOptions.host,
            basePort: fleetOptions.ports.kind === "consecutive" ? fleetOptions.ports.basePort : fleetOptions.ports.port,
            count: fleetOptions.workers,
            httpHealthCheck: fleetOptions.worker.kind === "builtin",
          },
          supervision,
          env: guard.marker,
        },
        logger,
        runtimeDir,
      ).catch((error) => failEarly(error, async () => {}))
    : undefined;
  // The broker is checked like a port: unreachable means exit 2 before any worker starts.
  const broker = options.broker
    ? await RedisBroker.connect(options.broker, fleetOptions.name, logger).catch((error) =>
        failEarly(error, async () => {}),
      )
    : undefined;
  const busPath = path.join(runtimeDir, BUS_SOCKET);
  const hub = fleetOptions.worker.kind === "builtin" ? await BusHub.listen(busPath) : undefined;
  if (hub && broker) {
    hub.connectUplink((run) => broker.publish(run));
    broker.onRun((run) => hub.deliver(run));
  }
  const fleet = new Fleet(fleetOptions, supervision, {
    logger,
    spawn: workerSpawner(fleetOptions, guard.marker, hub ? busPath : undefined),
    readiness:
      fleetOptions.worker.kind === "builtin" ? "ipc" : fleetOptions.ports.kind === "consecutive" ? "probe" : "uptime",
    probeReady: (slot, isCancelled) => waitForPort(fleetOptions.host, slot.port, isCancelled),
    clock: systemClock,
    groups: guard,
    signalGroup: killGroup,
    assertPortFree: (host, port, option) => assertPortFree(host, port, { port: option, host: "--host" }),
  });
  const primary = new Primary({ fleet, balancer, guard, logger, service, exit: (code) => process.exit(code) });
  primary.listen(process);
  fleet.on("all-fatal", () => {
    void primary.fail("every worker is FATAL: nothing left to serve; exiting with status 1");
  });
  await fleet.start().catch((error) => failEarly(error, () => fleet.stop()));
  if (balancer) {
    // HAProxy starts once every worker is RUNNING (or FATAL), so its first checks find them listening.
    await fleet.settled();
    if (primary.isStopping) return;
    try {
      await balancer.start(guard);
    } catch (error) {
      await fleet.stop();
      await balancer.stop();
      guard.close();
      throw new WsfleetError("WSFLEET_HAPROXY_FATAL", `haproxy could not start: ${(error as Error).message}`, 1);
    }
    fleet.attach(balancer);
    balancer.onFatal(() => {
      void primary.fail("haproxy is FATAL: nothing can reach the workers; exiting with status 1");
    });
  }
  const startedAt = new Date().toISOString();
  const busStatus = () => hub && { ...hub.status(), broker: broker?.status() };
  await serveControl(runtimeDir, async () => ({
    pid: process.pid,
    startedAt,
    workers: fleet.status(),
    haproxy: await balancer?.status(),
    bus: busStatus(),
  }));
  if (options.metrics) {
    const server = await serveMetrics(
      options.metrics.host,
      options.metrics.port,
      () => fleet.status(),
      busStatus,
    ).catch(
      // Taken between the check and now: the workers are up already, so stop them before reporting it.
      (error) =>
        failEarly(error, async () => {
          await fleet.stop();
          await balancer?.stop();
        }),
    );
    server.unref();
  }
  const { ports, worker, host, workers } = fleetOptions;
  const portRange =
    ports.kind === "shared" ? `${ports.port} (shared)` : `${ports.basePort}-${ports.basePort + workers - 1}`;
  logger.event(
    "info",
    "started",
    `wsfleet started: ${plural(workers, "worker")} of '${worker.kind === "exec" ? worker.command : "built-in uWebSockets.js echo"}' on ${host}:${portRange}`,
    {
      pid: process.pid,
      guardPid: guard.pid,
      workers,
      basePort: ports.kind === "shared" ? ports.port : ports.basePort,
      host,
    },
  );
  if (balancer && options.haproxy) {
    const { stats, frontend } = options.haproxy;
    logger.event(
      "info",
      "haproxy-started",
      `haproxy (pid ${balancer.pid}) serves ws://${formatAddress(frontend)}/ in front of the workers; runtime API ${balancer.runtime.socketPath}${stats ? `; stats http://${formatAddress(stats)}/ and /metrics` : ""}`,
      {
        pid: balancer.pid,
        frontendHost: frontend.host,
        frontendPort: frontend.port,
        runtimeDir: balancer.runtimeDir,
        socket: balancer.runtime.socketPath,
      },
    );
  }
  await announceReady(primary, fleet, balancer, logger);
}

/**
 * Ready (systemd's READY=1) once every worker has settled, RUNNING or FATAL, and with --haproxy once HAProxy's
 * checks see every RUNNING worker UP: only then can a client get through.
 */
async function announceReady(
  primary: Primary,
  fleet: Fleet,
  balancer: HaproxyBalancer | undefined,
  logger: Logger,
): Promise<void> {
  await fleet.settled();
  if (balancer) {
    const running = fleet
      .status()
      .filter((worker) => worker.state === "RUNNING")
      .map((worker) => worker.name);
    if (!(await balancer.waitUntilUp(running))) {
      logger.event("warn", "ready", "haproxy does not see every RUNNING worker UP yet; reporting ready anyway");
    }
  }
  if (primary.isStopping) return;
  logger.event("info", "ready", `ready: ${fleet.summary()}${balancer ? ", haproxy sees them UP" : ""}`);
  primary.markReady();
}

import path from "node:path";
import { BusHub } from "../bus/hub.js";
import { RedisBroker } from "../bus/redis-broker.js";
import type { Options } from "../config/validate.js";
import { Dashboard } from "../dashboard/server.js";
import { WsfleetError } from "../errors.js";
import { Fleet } from "../fleet/fleet.js";
import { workerSpawner } from "../fleet/spawn.js";
import { HaproxyBalancer } from "../haproxy/balancer.js";
import { haproxyVersion } from "../haproxy/check.js";
import { formatAddress } from "../haproxy/config.js";
import type { Logger } from "../log/logger.js";
import { keepingLines, LogRing } from "../log/ring.js";
import { plural } from "../log/wording.js";
import { renderBusMetrics } from "../metrics/bus.js";
import { fleetMetrics } from "../metrics/prometheus.js";
import { metricsHandler } from "../metrics/server.js";
import { type RequestHandler, serveHttp } from "../net/http-server.js";
import { assertPortFree } from "../net/port-check.js";
import { waitForPort } from "../net/probe-port.js";
import { systemClock } from "../supervise/clock.js";
import { OrphanGuard } from "../supervise/orphan-guard.js";
import { killGroup } from "../supervise/process-group.js";
import { resolveTlsFiles } from "../tls/files.js";
import { Certificates } from "./certificates.js";
import { type CertificateReloaded, type Controls, serveControl } from "./control-server.js";
import { openFilesLimit } from "./open-files.js";
import { Primary } from "./primary.js";
import { BUS_SOCKET, createRuntimeDir, runtimeDirPrefix } from "./runtime-dir.js";
import type { ServiceNotifier } from "./sd-notify.js";
import { startWarnings } from "./start-warnings.js";

/** Lines kept per worker (and for the primary's events) for `wsfleet logs`. */
const LOG_LINES_KEPT = 1000;

/** The --metrics and --dashboard listeners: one when they name the same port, else one each. */
function httpListeners(options: Options): Array<{ host: string; port: number; option: string; serves: string[] }> {
  const { metrics, dashboard } = options;
  const shared = metrics && dashboard && metrics.port === dashboard.port;
  return [
    ...(metrics ? [{ ...metrics, option: "--metrics", serves: shared ? ["metrics", "dashboard"] : ["metrics"] }] : []),
    ...(dashboard && !shared ? [{ ...dashboard, option: "--dashboard", serves: ["dashboard"] }] : []),
  ];
}

/**
 * `wsfleet` without a subcommand: start the orphan guard first (so a SIGKILL at any moment after leaves nothing),
 * check every port, start the workers, then HAProxy once they have settled, then hand signals to the Primary.
 */
export async function runFleet(
  options: Options,
  printer: Logger,
  service: ServiceNotifier | undefined,
  version: string,
): Promise<void> {
  const logs = new LogRing(LOG_LINES_KEPT);
  const logger = keepingLines(printer, logs);
  const { fleet: fleetOptions, supervision } = options;
  for (const warning of startWarnings(options, openFilesLimit())) logger.event("warn", warning.event, warning.message);
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
    await guard.close();
    throw error;
  };
  const runtimeDir = await createRuntimeDir(removeOnDeathPrefix).catch((error) => failEarly(error, async () => {}));
  // The TLS files are checked (exit 2 naming the option) before any port is taken or any process starts.
  const certificates = options.tls
    ? await Certificates.prepare(resolveTlsFiles(options.tls, process.cwd()), runtimeDir, logger).catch((error) =>
        failEarly(error, async () => {}),
      )
    : undefined;
  // Every port is checked before any process starts: metrics and dashboard here, HAProxy's in prepare(), the workers' in
  // fleet.start().
  for (const { host, port, option } of httpListeners(options)) {
    await assertPortFree(host, port, { port: option, host: option }).catch((error) => failEarly(error, async () => {}));
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
          tlsCrtFile: certificates?.pemFile,
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
    // With --haproxy, HAProxy terminates TLS and the workers stay plain on loopback.
    spawn: workerSpawner(
      fleetOptions,
      guard.marker,
      hub ? busPath : undefined,
      options.haproxy ? undefined : certificates?.pemFile,
    ),
    readiness:
      fleetOptions.worker.kind === "builtin" ? "ipc" : fleetOptions.ports.kind === "consecutive" ? "probe" : "uptime",
    probeReady: (slot, isCancelled) => waitForPort(fleetOptions.host, slot.port, isCancelled),
    clock: systemClock,
    groups: guard,
    signalGroup: killGroup,
    assertPortFree: (host, port, option) => assertPortFree(host, port, { port: option, host: "--host" }),
  });
  const reloadCertificate = async (): Promise<CertificateReloaded> => {
    if (!certificates) {
      throw new WsfleetError(
        "WSFLEET_TLS_INVALID",
        "this primary was started without --tls-cert: there is no certificate to reload; restart it with --tls-cert <file>",
      );
    }
    const material = await certificates.reload(balancer);
    if (balancer) {
      return {
        serial: material.serial,
        message: `haproxy now serves certificate serial ${material.serial} to new handshakes; open connections keep theirs`,
      };
    }
    // uWebSockets.js cannot swap a certificate in a running app (uWebSockets.js#1289): new workers read the new one.
    void fleet.rollingRestart();
    return {
      serial: material.serial,
      message: `certificate serial ${material.serial} checked; rolling restart under way: each worker is replaced (its connections closed with 1012) and its replacement serves the new certificate`,
    };
  };
  const primary = new Primary({
    fleet,
    balancer,
    guard,
    logger,
    service,
    exit: (code) => process.exit(code),
    certificates: certificates && { reload: () => certificates.reload(balancer) },
  });
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
      await guard.close();
      throw new WsfleetError("WSFLEET_HAPROXY_FATAL", `haproxy could not start: ${(error as Error).message}`, 1);
    }
    fleet.attach(balancer);
    balancer.onFatal(() => {
      void primary.fail("haproxy is FATAL: nothing can reach the workers; exiting with status 1");
    });
  }
  const startedAt = new Date().toISOString();
  const snapshot = async () => ({ workers: fleet.status(), haproxy: await balancer?.status() });
  const busStatus = () => hub && { ...hub.status(), broker: broker?.status() };
  const controls: Controls = {
    status: async () => ({ pid: process.pid, startedAt, ...(await snapshot()), bus: busStatus() }),
    scale: (count) => primary.scale(count),
    restart: (name) => primary.restart(name),
    stop: () => primary.stop(),
    beforeExit: (hook) => primary.beforeExit(hook),
    logs,
    reloadCertificate,
  };
  await serveControl(runtimeDir, controls);
  const { dashboard: dashboardOptions } = options;
  const renderFleetMetrics = fleetMetrics(snapshot, {
    wsfleet: version,
    node: process.versions.node,
    haproxy: options.haproxy ? await haproxyVersion(options.haproxy.bin) : undefined,
  });
  // The bus and broker counters live in the primary, beside the workers' (metrics/bus.ts).
  const renderMetrics = async () => {
    const bus = busStatus();
    return (await renderFleetMetrics()) + (bus ? renderBusMetrics(bus, bus.broker) : "");
  };
  const dashboard = dashboardOptions
    ? new Dashboard({ primaryPid: process.pid, snapshot }, dashboardOptions.token)
    : undefined;
  for (const { host, port, serves } of httpListeners(options)) {
    const handlers: RequestHandler[] = [];
    // Sharing the dashboard's port, /metrics asks for its token too (Prometheus: `authorization: credentials`).
    const token = serves.includes("dashboard") ? dashboardOptions?.token : undefined;
    if (serves.includes("metrics")) handlers.push(metricsHandler(renderMetrics, token));
    if (dashboard && serves.includes("dashboard")) handlers.push(dashboard.handler);
    await serveHttp(host, port, handlers).catch(
      // Taken between the check and now: the workers are up already, so stop them before reporting it.
      (error) =>
        failEarly(error, async () => {
          await fleet.stop();
          await balancer?.stop();
        }),
    );
  }
  if (dashboardOptions) {
    logger.event("info", "dashboard", `dashboard on http://${formatAddress(dashboardOptions)}/`, {
      host: dashboardOptions.host,
      port: dashboardOptions.port,
    });
  }
  const { ports, worker, host, workers } = fleetOptions;
  const portRange =
    ports.kind === "shared" ? `${ports.port} (shared)` : `${ports.basePort}-${ports.basePort + workers - 1}`;
  logger.event(
    "info",
    "started",
    `wsfleet started: ${plural(workers, "worker")} of '${worker.kind === "exec" ? worker.command : "built-in uWebSockets.js echo"}' on ${host}:${portRange}${certificates && !balancer ? " (wss://)" : ""}`,
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
      `haproxy (pid ${balancer.pid}) serves ${certificates ? "wss" : "ws"}://${formatAddress(frontend)}/ in front of the workers; runtime API ${balancer.runtime.socketPath}${stats ? `; stats http://${formatAddress(stats)}/ and /metrics` : ""}`,
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
 * Ready (systemd's READY=1) once every worker is RUNNING and, with --haproxy, HAProxy's checks see them all UP: only
 * then does the fleet serve as asked. A worker FATAL at start holds READY=1 back (systemd's start then times out and
 * Restart= applies, as for any service that never gets ready); `wsfleet restart <name>` that brings it up releases it.
 */
async function announceReady(
  primary: Primary,
  fleet: Fleet,
  balancer: HaproxyBalancer | undefined,
  logger: Logger,
): Promise<void> {
  await fleet.settled();
  // Said once, whichever holds READY=1 back first: the log line and systemd's status line.
  let warned = false;
  const holdBack = (why: string) => {
    if (warned) return;
    warned = true;
    logger.event("warn", "not-ready", `not ready: ${why}`);
    primary.notifyNotReady();
  };
  for (;;) {
    while (!fleet.allRunning()) {
      if (primary.isStopping) return;
      if (fleet.status().every((worker) => worker.state === "RUNNING" || worker.state === "FATAL")) {
        holdBack(
          `${fleet.summary()}; READY=1 waits for every worker RUNNING (wsfleet restart <name> gives a FATAL worker a fresh start)`,
        );
      }
      await fleet.nextStateChange();
    }
    if (!balancer || primary.isStopping) break;
    if (await balancer.waitUntilUp(fleet.status().map((worker) => worker.name))) break;
    holdBack("haproxy does not see every RUNNING worker UP yet; still waiting");
  }
  if (primary.isStopping) return;
  logger.event("info", "ready", `ready: ${fleet.summary()}${balancer ? ", haproxy sees them UP" : ""}`);
  primary.markReady();
}

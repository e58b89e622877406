import type http from "node:http";
import path from "node:path";
import { connectBroker } from "../broker/connect-broker.js";
import { BusHub } from "../bus/hub.js";
import type { Options } from "../config/validate.js";
import { Dashboard } from "../dashboard/server.js";
import { wsfleetError } from "../errors.js";
import { Fleet } from "../fleet/fleet.js";
import { workerSpawner } from "../fleet/spawn.js";
import { HaproxyBalancer } from "../haproxy/balancer.js";
import { haproxyVersion } from "../haproxy/check.js";
import { redisHistory } from "../history/redis-history.js";
import { createSequencer } from "../history/sequencer.js";
import type { Logger } from "../log/logger.js";
import { keepingLines, LogRing } from "../log/ring.js";
import { renderBusMetrics } from "../metrics/bus.js";
import { metricsHandler } from "../metrics/server.js";
import { serveHttp } from "../net/http-server.js";
import { assertPortFree } from "../net/port-check.js";
import { waitForPort } from "../net/probe-port.js";
import { BUS_SOCKET, PRIMARY_PID_FILE } from "../protocol/control.js";
import { ConfigReloader, type LoadedOptions } from "../reload/reloader.js";
import { systemClock } from "../supervise/clock.js";
import { OrphanGuard } from "../supervise/orphan-guard.js";
import { killGroup } from "../supervise/process-group.js";
import { resolveTlsFiles } from "../tls/files.js";
import type { Takeover } from "../upgrade/handover.js";
import { type Generation, upgradeControls } from "../upgrade/new-generation.js";
import { HTTP_TAKEOVER_MS, listenWhenFree, reportReady } from "../upgrade/takeover.js";
import { startAddressLimits } from "./address-limits.js";
import { Certificates } from "./certificates.js";
import { serveControl } from "./control-server.js";
import { httpListeners } from "./http-listeners.js";
import { Primary } from "./lifecycle.js";
import { openFilesLimit } from "./open-files.js";
import { createRuntimeDir, runtimeDirPrefix } from "./runtime-dir.js";
import type { ServiceNotifier } from "./sd-notify.js";
import { startWarnings } from "./start-warnings.js";
import { startedEvents } from "./started.js";
import { brokerStatus, workersOnBroker } from "./workers-on-broker.js";

/** Lines kept per worker (and for the primary's events) for `wsfleet logs`. */
const LOG_LINES_KEPT = 1000;
/**
 * What is checked and made ready before any worker starts, each step of which exits 2 on bad input: the runtime
 * directory, the TLS files, every port of the primary's own, HAProxy's binary, ports and config, the broker.
 */
async function prepare(
  options: Options,
  guard: OrphanGuard,
  removeOnDeathPrefix: string,
  logger: Logger,
  takeover: Takeover | undefined,
) {
  const runtimeDir = await createRuntimeDir(removeOnDeathPrefix);
  // The TLS files are checked (exit 2 naming the option) before any port is taken or any process starts.
  const certificates = options.tls
    ? await Certificates.prepare(resolveTlsFiles(options.tls, process.cwd()), runtimeDir, logger)
    : undefined;
  // Every port is checked before any process starts: metrics and dashboard here, HAProxy's in prepare(), the workers'
  // in fleet.start().
  const { metrics, dashboard } = options;
  for (const [option, address] of [
    ["--metrics", metrics],
    ["--dashboard", dashboard],
  ] as const) {
    // An upgrade's new generation: the old one holds them until it lets go (listenWhenFree).
    if (address && !takeover) await assertPortFree(address.host, address.port, { port: option, host: option });
  }
  const { fleet } = options;
  const balancer = options.haproxy
    ? await HaproxyBalancer.prepare(
        {
          haproxy: options.haproxy,
          servers: {
            programName: fleet.name,
            host: fleet.host,
            basePort: fleet.ports.kind === "consecutive" ? fleet.ports.basePort : fleet.ports.port,
            count: fleet.workers,
            httpHealthCheck: fleet.worker.kind === "builtin",
          },
          supervision: options.supervision,
          env: guard.marker,
          tlsCrtFile: certificates?.pemFile,
          addressLimits: options.addressLimits,
          takeListenersFrom: takeover?.haproxySocket,
        },
        { logger, clock: systemClock, signalGroup: killGroup },
        runtimeDir,
      )
    : undefined;
  // The broker is checked like a port: unreachable means exit 2 before any worker starts.
  const broker = options.broker ? await connectBroker(options.broker, fleet.name, logger) : undefined;
  return { runtimeDir, certificates, balancer, broker };
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
  generation: Generation,
  /** With --config: the settings it was read into, and how to read it again (`wsfleet reload`, SIGHUP). */
  config?: { readonly current: LoadedOptions; load(): LoadedOptions },
): Promise<void> {
  const { takeover } = generation;
  // The new generation of an upgrade shares the old one's ports until the old one has let go of them.
  let handingOver = takeover !== undefined;
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
  // Nothing but the guard runs yet: it is all there is to stop.
  const { runtimeDir, certificates, balancer, broker } = await prepare(
    options,
    guard,
    removeOnDeathPrefix,
    logger,
    takeover,
  ).catch(async (error) => {
    await guard.close();
    throw error;
  });
  const busPath = path.join(runtimeDir, BUS_SOCKET);
  const hub =
    fleetOptions.worker.kind === "builtin" ? await BusHub.listen(busPath, createSequencer(options.history)) : undefined;
  // --broker: with --history the hub sequences through Redis (the primary is the fleet's one peer on it); without, each
  // worker is on Redis itself and the hub joins this fleet's workers only (docs/publish.md, "Workers on Redis").
  const onBroker = hub ? workersOnBroker(options.broker, options.history) : undefined;
  if (hub && broker && options.history) {
    hub.connectUplink(broker);
    broker.onRun((run) => hub.deliver(run));
    hub.sequenceThroughBroker(...redisHistory(broker, fleetOptions.name, options.history));
  }
  const addressLimits = await startAddressLimits(options, runtimeDir);
  // With --haproxy, HAProxy terminates TLS and the workers stay plain on loopback.
  const spawnerFor = (each: Options) =>
    workerSpawner(
      each.fleet,
      guard.marker,
      {
        busPath: hub ? busPath : undefined,
        ledgerPath: addressLimits?.ledgerPath,
        history: options.history?.size,
        broker: onBroker,
      },
      each.haproxy ? undefined : certificates?.pemFile,
      each.haproxy !== undefined,
    );
  const fleet = new Fleet(fleetOptions, supervision, {
    logger,
    spawn: spawnerFor(options),
    readiness:
      fleetOptions.worker.kind === "builtin" ? "ipc" : fleetOptions.ports.kind === "consecutive" ? "probe" : "uptime",
    probeReady: (slot, isCancelled) => waitForPort(fleetOptions.host, slot.port, isCancelled),
    clock: systemClock,
    groups: guard,
    signalGroup: killGroup,
    assertPortFree: (host, port, option) =>
      handingOver ? Promise.resolve() : assertPortFree(host, port, { port: option, host: "--host" }),
  });
  const httpServers: http.Server[] = [];
  const reloader =
    config &&
    new ConfigReloader(config.current, {
      load: () => config.load(),
      useWorkerOptions: (next) => fleet.useSpawner(spawnerFor(next)),
      reloadHaproxy: async (next) => {
        if (balancer && next.haproxy) await balancer.reload(next.haproxy);
      },
      size: () => fleet.size,
      scaleTo: (count) => primary.scale(count),
      rollWorkers: () => primary.rollWorkers(),
      logger,
      now: () => new Date(),
    });
  const primary: Primary = new Primary({
    fleet,
    config: reloader,
    balancer,
    guard,
    logger,
    service,
    exit: (code) => process.exit(code),
    certificates: certificates && { reload: () => certificates.reload(balancer) },
    upgrade: upgradeControls(options, generation, {
      haproxySocket: balancer?.runtime.socketPath,
      pidFile: path.join(runtimeDir, PRIMARY_PID_FILE),
      letGo: () => {
        for (const server of httpServers.splice(0)) {
          server.close();
          server.closeAllConnections();
        }
      },
    }),
  });
  primary.listen(process);
  fleet.on("all-fatal", () => {
    void primary.fail("every worker is FATAL: nothing left to serve; exiting with status 1");
  });
  await fleet.start().catch((error) => primary.failStart(error));
  if (balancer) {
    // HAProxy starts once every worker is RUNNING (or FATAL), so its first checks find them listening.
    await fleet.settled();
    if (primary.isStopping) return;
    await balancer
      .start(guard)
      .catch((error: Error) => primary.failStart(wsfleetError("haproxyDidNotStart", error.message)));
    fleet.attach(balancer);
    balancer.onFatal(() => {
      void primary.fail("haproxy is FATAL: nothing can reach the workers; exiting with status 1");
    });
  }
  const startedAt = new Date().toISOString();
  const snapshot = async () => ({ workers: fleet.status(), haproxy: await balancer?.status() });
  const busStatus = () =>
    hub && {
      ...hub.status(),
      broker: brokerStatus(
        broker,
        onBroker,
        fleet.status().map((worker) => worker.counters),
      ),
    };
  await serveControl(runtimeDir, {
    status: async () => ({
      pid: process.pid,
      startedAt,
      ...(await snapshot()),
      bus: busStatus(),
      addressLimits: addressLimits?.status(),
      lastReload: reloader?.lastReload,
    }),
    scale: (count) => primary.scale(count),
    restart: (name) => primary.restart(name),
    stop: () => primary.stop(),
    beforeExit: (hook) => primary.beforeExit(hook),
    logs,
    reloadCertificate: () => primary.reloadCertificate(),
    reload: () => primary.reload(),
    upgrade: () => primary.upgrade(),
  });
  const versions = {
    wsfleet: version,
    node: process.versions.node,
    haproxy: options.haproxy ? await haproxyVersion(options.haproxy.bin) : undefined,
  };
  // prom-client is loaded at the first scrape: a fleet without --metrics keeps a smaller heap (and cheaper GCs).
  let renderFleetMetrics: (() => Promise<string>) | undefined;
  // The bus and broker counters live in the primary, beside the workers' (metrics/bus.ts).
  const renderMetrics = async () => {
    renderFleetMetrics ??= (await import("../metrics/prometheus.js")).fleetMetrics(snapshot, versions);
    const bus = busStatus();
    return (await renderFleetMetrics()) + (bus ? renderBusMetrics(bus, bus.broker) : "");
  };
  const dashboard = options.dashboard
    ? new Dashboard({ primaryPid: process.pid, snapshot }, options.dashboard.token)
    : undefined;
  const listeners = httpListeners(options, {
    metrics: (token) => metricsHandler(renderMetrics, token),
    dashboard: dashboard?.handler,
  });
  const serveListeners = async (untilMs: number) => {
    for (const { host, port, handlers } of listeners) {
      // Taken between the check and now: the workers are up already, so they stop before it is reported.
      httpServers.push(
        await listenWhenFree(() => serveHttp(host, port, handlers), untilMs).catch((error) => primary.failStart(error)),
      );
    }
  };
  if (!takeover) await serveListeners(0);
  const facts = {
    pid: process.pid,
    guardPid: guard.pid,
    tls: certificates !== undefined,
    haproxy: balancer && {
      pid: balancer.pid,
      socketPath: balancer.runtime.socketPath,
      runtimeDir: balancer.runtimeDir,
    },
  };
  for (const { level, event, message, fields } of startedEvents(options, facts)) {
    logger.event(level, event, message, fields);
  }
  await primary.becomeReady();
  if (takeover && !primary.isStopping) {
    handingOver = false;
    reportReady();
    logger.event("info", "upgrade", `took over from primary ${takeover.fromPid}, which now drains and exits`);
    await serveListeners(Date.now() + HTTP_TAKEOVER_MS);
  }
}

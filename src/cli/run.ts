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
import { resolveTlsFiles } from "../tls/files.js";
import { Certificates } from "./certificates.js";
import { type CertificateReloaded, serveControl } from "./control-server.js";
import { Primary } from "./primary.js";
import { createRuntimeDir, runtimeDirPrefix } from "./runtime-dir.js";

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * `wsfleet` without a subcommand: start the orphan guard first (so a SIGKILL at any moment after leaves nothing),
 * check every port, start the workers, then HAProxy once they have settled, then hand signals to the Primary.
 */
export async function runFleet(options: Options, logger: Logger): Promise<void> {
  const { fleet: fleetOptions, supervision } = options;
  const removeOnDeathPrefix = runtimeDirPrefix(process.pid);
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
  const runtimeDir = await createRuntimeDir(removeOnDeathPrefix);
  // The TLS files are checked (exit 2 naming the option) before any port is taken or any process starts.
  const certificates = options.tls
    ? await Certificates.prepare(resolveTlsFiles(options.tls, process.cwd()), runtimeDir, logger).catch((error) =>
        failEarly(error, async () => {}),
      )
    : undefined;
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
          tlsCrtFile: certificates?.pemFile,
        },
        logger,
        runtimeDir,
      ).catch((error) => failEarly(error, async () => {}))
    : undefined;
  const fleet = new Fleet(fleetOptions, supervision, {
    logger,
    // With --haproxy, HAProxy terminates TLS and the workers stay plain on loopback.
    spawn: workerSpawner(fleetOptions, guard.marker, options.haproxy ? undefined : certificates?.pemFile),
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
      guard.close();
      throw new WsfleetError("WSFLEET_HAPROXY_FATAL", `haproxy could not start: ${(error as Error).message}`, 1);
    }
    fleet.attach(balancer);
    balancer.onFatal(() => {
      void primary.fail("haproxy is FATAL: nothing can reach the workers; exiting with status 1");
    });
  }
  const startedAt = new Date().toISOString();
  await serveControl(runtimeDir, {
    status: async () => ({ pid: process.pid, startedAt, workers: fleet.status(), haproxy: await balancer?.status() }),
    reloadCertificate,
  });
  if (options.metrics) {
    const server = await serveMetrics(options.metrics.host, options.metrics.port, () => fleet.status()).catch(
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
}

/** What the primary's log says once the fleet is up: pure, from the options and a few facts of the running fleet. */
import type { Options } from "../config/validate.js";
import { formatAddress } from "../haproxy/config.js";
import type { LogFields, LogLevel } from "../log/logger.js";
import { plural } from "../log/wording.js";

export interface StartedEvent {
  readonly level: LogLevel;
  readonly event: string;
  readonly message: string;
  readonly fields: LogFields;
}

export interface RunningFacts {
  readonly pid: number;
  readonly guardPid: number | undefined;
  /** Whether it serves wss:// (a --tls-cert was given and passed its checks). */
  readonly tls: boolean;
  readonly haproxy:
    | { readonly pid: number | undefined; readonly socketPath: string; readonly runtimeDir: string }
    | undefined;
}

export function startedEvents(options: Options, facts: RunningFacts): StartedEvent[] {
  const { ports, worker, host, workers } = options.fleet;
  const portRange =
    ports.kind === "shared" ? `${ports.port} (shared)` : `${ports.basePort}-${ports.basePort + workers - 1}`;
  const what = worker.kind === "exec" ? worker.command : "built-in uWebSockets.js echo";
  const events: StartedEvent[] = [];
  if (options.dashboard) {
    const { host: dashboardHost, port } = options.dashboard;
    events.push({
      level: "info",
      event: "dashboard",
      message: `dashboard on http://${formatAddress(options.dashboard)}/`,
      fields: { host: dashboardHost, port },
    });
  }
  events.push({
    level: "info",
    event: "started",
    message: `wsfleet started: ${plural(workers, "worker")} of '${what}' on ${host}:${portRange}${facts.tls && !facts.haproxy ? " (wss://)" : ""}`,
    fields: {
      pid: facts.pid,
      guardPid: facts.guardPid,
      workers,
      basePort: ports.kind === "shared" ? ports.port : ports.basePort,
      host,
    },
  });
  if (facts.haproxy && options.haproxy) {
    const { stats, frontend } = options.haproxy;
    events.push({
      level: "info",
      event: "haproxy-started",
      message: `haproxy (pid ${facts.haproxy.pid}) serves ${facts.tls ? "wss" : "ws"}://${formatAddress(frontend)}/ in front of the workers; runtime API ${facts.haproxy.socketPath}${stats ? `; stats http://${formatAddress(stats)}/ and /metrics` : ""}`,
      fields: {
        pid: facts.haproxy.pid,
        frontendHost: frontend.host,
        frontendPort: frontend.port,
        runtimeDir: facts.haproxy.runtimeDir,
        socket: facts.haproxy.socketPath,
      },
    });
  }
  return events;
}

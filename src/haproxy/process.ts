import { spawn } from "node:child_process";
import type { Logger } from "../log/logger.js";
import { pollUntil } from "../net/probe-port.js";
import type { Clock } from "../supervise/clock.js";
import type { RestartPolicy } from "../supervise/restart-policy.js";
import { SupervisedProcess } from "../supervise/supervised-process.js";

const HAPROXY_LOG_NAME = "haproxy";

/** `Server websocket/websockets-test_01 is DOWN, reason: ...` as HAProxy prints it in the foreground: pure. */
export function parseServerChange(line: string): { server: string; state: "UP" | "DOWN"; detail: string } | undefined {
  const match = /Server ([^/\s]+)\/(\S+) is (UP|DOWN)\b,?\s*(.*)$/.exec(line);
  if (!match?.[2] || !match[3]) return undefined;
  return { server: match[2], state: match[3] as "UP" | "DOWN", detail: match[4] ?? "" };
}

export interface HaproxyProcessDeps {
  bin: string;
  configPath: string;
  /** Added to haproxy's environment (the orphan guard's marker). */
  env: Readonly<Record<string, string>>;
  /**
   * `wsfleet upgrade`: the old HAProxy's runtime socket, whose listening sockets the first haproxy started takes
   * (`-x`) instead of binding its own; a restart later binds them itself.
   */
  takeListenersFrom?: string | undefined;
  /** HAProxy's frontend port, shown in its RUNNING line. */
  port: number;
  logger: Logger;
  clock: Clock;
  policy: RestartPolicy;
  /** Resolves true once the haproxy with this pid answers on its runtime socket. */
  isAnswering(pid: number | undefined): Promise<boolean>;
  signalGroup(pgid: number, signal: NodeJS.Signals): void;
  /** The orphan guard: HAProxy's process group is SIGKILLed with the workers' if the primary dies. */
  onGroupStart(pgid: number): void;
  onGroupEnd(pgid: number): void;
  stopTimeoutMs: number;
}

/**
 * One supervised `haproxy` in the foreground (-db), in its own process group: a SupervisedProcess like any worker
 * (Supervisor's states, back-off, FATAL, SIGTERM then SIGKILL), RUNNING once its runtime API answers, with its
 * server UP/DOWN lines turned into `haproxy-server` events.
 */
export function createHaproxyProcess(deps: HaproxyProcessDeps): SupervisedProcess {
  const { logger } = deps;
  let takeFrom = deps.takeListenersFrom;
  const haproxy: SupervisedProcess = new SupervisedProcess(HAPROXY_LOG_NAME, {
    // -db: foreground, no daemon, so we see its exit and its messages (server UP/DOWN) on stderr.
    spawn: () => {
      const handOver = takeFrom === undefined ? [] : ["-x", takeFrom];
      takeFrom = undefined;
      return spawn(deps.bin, ["-f", deps.configPath, "-db", ...handOver], {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        env: { ...process.env, ...deps.env },
      });
    },
    readiness: "signal",
    onSpawn: (child, isCurrent) => {
      void pollUntil(
        () => deps.isAnswering(child.pid),
        () => !isCurrent(),
        50,
      ).then((ok) => {
        if (ok) haproxy.ready(child);
      });
    },
    readyDetail: `listening on port ${deps.port}`,
    fields: { port: deps.port },
    eventPrefix: "haproxy-",
    onOutputLine: (_stream, line) => {
      const change = parseServerChange(line);
      if (!change) return false;
      logger.event(
        change.state === "UP" ? "info" : "warn",
        "haproxy-server",
        `haproxy: ${change.server} is ${change.state}${change.detail ? `, ${change.detail}` : ""}`,
        { worker: change.server, state: change.state },
      );
      return true;
    },
    logger,
    policy: deps.policy,
    // RUNNING as soon as the runtime API answers: HAProxy has parsed its config and bound its ports by then.
    startSecs: 0,
    stopTimeoutMs: deps.stopTimeoutMs,
    clock: deps.clock,
    signalGroup: deps.signalGroup,
    onGroupStart: deps.onGroupStart,
    onGroupEnd: deps.onGroupEnd,
  });
  return haproxy;
}

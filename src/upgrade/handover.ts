/**
 * What the two generations of a `wsfleet upgrade` share: the environment the old primary starts the new one with,
 * the message the new one sends once it serves, and which fleets can be upgraded without a dropped connection.
 * Pure.
 */
import type { Options } from "../config/validate.js";

/** Set in the new primary's environment: the old primary's pid (the new one is taking over from it). */
const UPGRADE_FROM = "WSFLEET_UPGRADE_FROM";
/** With --haproxy: the old HAProxy's runtime socket, from which the new HAProxy takes the listening sockets (-x). */
const UPGRADE_HAPROXY_SOCKET = "WSFLEET_UPGRADE_HAPROXY_SOCKET";

/** The new generation's view: whom it takes over from, and where the old HAProxy hands over its listeners. */
export interface Takeover {
  readonly fromPid: number;
  readonly haproxySocket: string | undefined;
}

/** The environment of the new primary: the old one's, with the hand-over variables (and systemd's socket) set. */
export function takeoverEnv(
  env: NodeJS.ProcessEnv,
  takeover: Takeover,
  notifySocket: string | undefined,
): NodeJS.ProcessEnv {
  const next: NodeJS.ProcessEnv = { ...env, [UPGRADE_FROM]: String(takeover.fromPid) };
  delete next[UPGRADE_HAPROXY_SOCKET];
  if (takeover.haproxySocket !== undefined) next[UPGRADE_HAPROXY_SOCKET] = takeover.haproxySocket;
  if (notifySocket !== undefined) next.NOTIFY_SOCKET = notifySocket;
  return next;
}

/** The new primary reads its environment once, at start: undefined when it is not taking over. */
export function takeoverFromEnv(env: NodeJS.ProcessEnv): Takeover | undefined {
  const fromPid = Number(env[UPGRADE_FROM]);
  if (!Number.isSafeInteger(fromPid) || fromPid <= 1) return undefined;
  return Object.freeze({ fromPid, haproxySocket: env[UPGRADE_HAPROXY_SOCKET] || undefined });
}

/** New → old, over the IPC channel: every worker RUNNING (and HAProxy sees them UP); the old generation may go. */
export interface GenerationReady {
  readonly type: "upgrade-ready";
  readonly pid: number;
}

export function isGenerationReady(message: unknown): message is GenerationReady {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "upgrade-ready";
}

/**
 * Why this fleet cannot be upgraded without dropping connections, or undefined. A listening socket can be handed
 * over only where the next generation can share it: HAProxy's frontend (-x), a shared port (SO_REUSEPORT), and
 * behind HAProxy the built-in workers' own ports (bound with SO_REUSEPORT for this).
 */
export function upgradeRefusal(options: Options): string | undefined {
  const { fleet, haproxy } = options;
  if (fleet.ports.kind === "shared") return undefined;
  if (!haproxy) {
    return "clients connect to the workers' own ports, which each worker binds alone: there is nothing the next generation could share; run the fleet with --haproxy or --shared-port to upgrade it without dropping connections, or restart it";
  }
  if (fleet.worker.kind === "exec") {
    return "--exec programs bind their consecutive ports themselves (without SO_REUSEPORT), so the next generation's could not bind them while these serve; restart the fleet instead";
  }
  return undefined;
}

/** A worker's settings, read once from the environment the primary sets (or a user sets, to run dist/worker.js alone). */

export type Compression = "off" | "shared" | "dedicated";

export interface WorkerSettings {
  readonly host: string;
  readonly port: number;
  /** Own the port (fleet mode) or share it with SO_REUSEPORT (shared-port mode). */
  readonly exclusivePort: boolean;
  readonly maxPayloadBytes: number;
  readonly idleTimeoutSecs: number;
  readonly maxBackpressureBytes: number;
  readonly compression: Compression;
  readonly drainTimeoutMs: number;
  /** Absolute path of a module whose default export is a WsfleetApp; undefined for the built-in echo. */
  readonly appPath: string | undefined;
  /** Take the client address from X-Forwarded-For (only behind a proxy you trust). */
  readonly trustProxy: boolean;
}

export const WORKER_DEFAULTS = Object.freeze({
  /** python websockets' max_size. */
  maxPayloadBytes: 1024 * 1024,
  /**
   * uWS pings a silent connection at half this and closes it at the full time without an answer: 40 s gives python
   * websockets' ping_interval 20 s / ping_timeout 20 s, and pings come before the guide's HAProxy 30 s timeouts.
   */
  idleTimeoutSecs: 40,
  /** uWebSockets.js' own default. */
  maxBackpressureBytes: 64 * 1024,
  compression: "off" as Compression,
  drainTimeoutMs: 1000,
});

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, min: number, max: number): number {
  const raw = env[name];
  if ((raw === undefined || raw === "") && fallback !== undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function readWorkerSettings(env: NodeJS.ProcessEnv): WorkerSettings {
  const compression = env.WSFLEET_COMPRESSION ?? WORKER_DEFAULTS.compression;
  if (compression !== "off" && compression !== "shared" && compression !== "dedicated") {
    throw new Error(`WSFLEET_COMPRESSION must be off, shared or dedicated, got ${JSON.stringify(compression)}`);
  }
  return Object.freeze({
    host: env.WSFLEET_HOST || "localhost",
    port: integer(env, "PORT", undefined, 1, 65535),
    exclusivePort: env.WSFLEET_SHARED_PORT !== "1",
    maxPayloadBytes: integer(env, "WSFLEET_MAX_PAYLOAD", WORKER_DEFAULTS.maxPayloadBytes, 1, 2 ** 31 - 1),
    idleTimeoutSecs: integer(env, "WSFLEET_IDLE_TIMEOUT", WORKER_DEFAULTS.idleTimeoutSecs, 0, 960),
    maxBackpressureBytes: integer(
      env,
      "WSFLEET_MAX_BACKPRESSURE",
      WORKER_DEFAULTS.maxBackpressureBytes,
      1,
      2 ** 31 - 1,
    ),
    compression,
    drainTimeoutMs: integer(env, "WSFLEET_DRAIN_TIMEOUT_MS", WORKER_DEFAULTS.drainTimeoutMs, 0, 86_400_000),
    appPath: env.WSFLEET_APP || undefined,
    trustProxy: env.WSFLEET_TRUST_PROXY === "1",
  });
}

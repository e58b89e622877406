/**
 * The environment a worker runs with, encoded by the primary and decoded by the built-in worker in this one file, so
 * the two sides cannot drift. A user may also set it by hand to run dist/worker.js alone.
 */
import { parseFleetOrigin } from "./broker-origin.js";
import { processName } from "./naming.js";

/** The highest TCP port: worker i of a fleet listens on base port + i, which must stay at or below it. */
export const MAX_PORT = 65535;

export type Compression = "off" | "shared" | "dedicated";

/** How the built-in worker treats connections: limits, compression, drain. */
export interface ConnectionSettings {
  readonly maxPayloadBytes: number;
  readonly idleTimeoutSecs: number;
  readonly maxBackpressureBytes: number;
  readonly compression: Compression;
  readonly drainTimeoutMs: number;
  /** After the drain timeout, open connections are closed spread evenly over this window (0: all at once). */
  readonly drainSpreadMs: number;
  /** Take the client address from X-Forwarded-For (only behind a proxy you trust). */
  readonly trustProxy: boolean;
  /** `--allowed-origins` as given, one entry each (`https://app.example.com`, `*.example.com`); empty: any Origin. */
  readonly allowedOrigins: readonly string[];
  /** `--require-origin`: a handshake without an Origin header is refused too. */
  readonly requireOrigin: boolean;
  /** `--max-connections`: connections one worker holds before it answers 503; undefined: no limit. */
  readonly maxConnections: number | undefined;
}

/** What one built-in worker reads at start. */
export interface WorkerSettings extends ConnectionSettings {
  /** `<name>_NN` (SUPERVISOR_PROCESS_NAME), or `worker-<port>` when run alone. */
  readonly workerName: string;
  readonly host: string;
  readonly port: number;
  /** Own the port (fleet mode) or share it with SO_REUSEPORT (shared-port mode, and behind HAProxy for upgrades). */
  readonly exclusivePort: boolean;
  /** Absolute path of a module whose default export is a WsfleetApp; undefined for the built-in echo. */
  readonly appPath: string | undefined;
  /** The primary's bus socket, through which `fleet.publish` reaches the other workers; undefined when run alone. */
  readonly busPath: string | undefined;
  /** The primary's ledger of per-address limits (`--max-conns-per-ip`, `--handshake-rate`); undefined: none here. */
  readonly ledgerPath: string | undefined;
  /** `--history <n>`: publishes go through the hub's sequencer and subscribers can recover; 0: off. */
  readonly history: number;
  /** wss://: PEM files of the certificate (with its chain) and key; undefined: plain ws://. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /**
   * `--broker` without --history: the worker is on Redis itself (docs/publish.md, "Workers on Redis"), on the fleet's
   * channels (`wsfleet:<name>:<topic>`), its messages headed by the fleet's origin; undefined: not.
   */
  readonly broker: WorkerBroker | undefined;
}

export interface WorkerBroker {
  readonly url: string;
  /** The fleet's name, in its channels. */
  readonly name: string;
  /** The first bytes of every origin of this fleet (hex in WSFLEET_BROKER_FLEET). */
  readonly fleetOrigin: Buffer;
}

export const CONNECTION_DEFAULTS: ConnectionSettings = Object.freeze({
  /** python websockets' max_size. */
  maxPayloadBytes: 1024 * 1024,
  /**
   * uWS pings a silent connection at half this and closes it at the full time without an answer: 40 s gives python
   * websockets' ping_interval 20 s / ping_timeout 20 s, and pings come before the guide's HAProxy 30 s timeouts.
   */
  idleTimeoutSecs: 40,
  /** uWebSockets.js' own default. */
  maxBackpressureBytes: 64 * 1024,
  compression: "off",
  drainTimeoutMs: 1000,
  /** Measured in docs/RELIABILITY.md: spreading 4,000 closes over 2 s cuts the reconnect peak HAProxy sees. */
  drainSpreadMs: 2000,
  trustProxy: false,
  allowedOrigins: Object.freeze([]),
  requireOrigin: false,
  maxConnections: undefined,
});

/** One slot of a fleet, as its environment describes it. */
export interface WorkerEnvInput {
  readonly programName: string;
  readonly index: number;
  readonly port: number;
  readonly host: string;
  readonly sharedPort: boolean;
  /**
   * Bind the own port with SO_REUSEPORT too (behind HAProxy), so the next generation's worker can bind it during
   * `wsfleet upgrade` while this one still serves; the primary checks the port is free before the first start.
   */
  readonly reusePort?: boolean | undefined;
  readonly appPath: string | undefined;
  readonly busPath: string | undefined;
  readonly ledgerPath?: string | undefined;
  /** `--history <n>`; 0 or undefined: off. */
  readonly history?: number | undefined;
  readonly connections: ConnectionSettings;
  /** The checked certificate and key in one PEM file: the worker serves wss:// with it. */
  readonly tlsPemFile?: string | undefined;
  /** `--broker` for workers on Redis themselves: its URL, and the fleet's origin (hex). */
  readonly broker?: { readonly url: string; readonly fleetOrigin: string } | undefined;
}

/** Supervisor's environment (SUPERVISOR_*), PORT as Heroku-style servers expect it, and the built-in worker's own. */
export function encodeWorkerEnv(input: WorkerEnvInput): Record<string, string> {
  const { connections } = input;
  return {
    SUPERVISOR_ENABLED: "1",
    SUPERVISOR_PROCESS_NAME: processName(input.programName, input.index),
    SUPERVISOR_GROUP_NAME: input.programName,
    PORT: String(input.port),
    WSFLEET_HOST: input.host,
    WSFLEET_SHARED_PORT: input.sharedPort ? "1" : "0",
    WSFLEET_REUSE_PORT: input.reusePort ? "1" : "0",
    WSFLEET_MAX_PAYLOAD: String(connections.maxPayloadBytes),
    WSFLEET_IDLE_TIMEOUT: String(connections.idleTimeoutSecs),
    WSFLEET_MAX_BACKPRESSURE: String(connections.maxBackpressureBytes),
    WSFLEET_COMPRESSION: connections.compression,
    WSFLEET_DRAIN_TIMEOUT_MS: String(connections.drainTimeoutMs),
    WSFLEET_DRAIN_SPREAD_MS: String(connections.drainSpreadMs),
    WSFLEET_APP: input.appPath ?? "",
    WSFLEET_TRUST_PROXY: connections.trustProxy ? "1" : "0",
    WSFLEET_BUS: input.busPath ?? "",
    WSFLEET_LEDGER: input.ledgerPath ?? "",
    WSFLEET_HISTORY: String(input.history ?? 0),
    WSFLEET_ALLOWED_ORIGINS: connections.allowedOrigins.join(","),
    WSFLEET_REQUIRE_ORIGIN: connections.requireOrigin ? "1" : "0",
    WSFLEET_MAX_CONNECTIONS: connections.maxConnections === undefined ? "" : String(connections.maxConnections),
    WSFLEET_BROKER: input.broker?.url ?? "",
    WSFLEET_BROKER_FLEET: input.broker?.fleetOrigin ?? "",
    // One combined PEM: OpenSSL reads the certificate chain and the key from the same file.
    ...(input.tlsPemFile === undefined
      ? {}
      : { WSFLEET_TLS_CERT: input.tlsPemFile, WSFLEET_TLS_KEY: input.tlsPemFile }),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, min: number, max: number): number {
  const raw = env[name];
  if ((raw === undefined || raw === "") && fallback !== undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The worker's side: reads what encodeWorkerEnv wrote (or a user set), with the same defaults. */
export function decodeWorkerEnv(env: NodeJS.ProcessEnv): WorkerSettings {
  const compression = env.WSFLEET_COMPRESSION || CONNECTION_DEFAULTS.compression;
  if (compression !== "off" && compression !== "shared" && compression !== "dedicated") {
    throw new Error(`WSFLEET_COMPRESSION must be off, shared or dedicated, got ${JSON.stringify(compression)}`);
  }
  const defaults = CONNECTION_DEFAULTS;
  const port = integer(env, "PORT", undefined, 1, MAX_PORT);
  return Object.freeze({
    workerName: env.SUPERVISOR_PROCESS_NAME || `worker-${port}`,
    host: env.WSFLEET_HOST || "localhost",
    port,
    exclusivePort: env.WSFLEET_SHARED_PORT !== "1" && env.WSFLEET_REUSE_PORT !== "1",
    maxPayloadBytes: integer(env, "WSFLEET_MAX_PAYLOAD", defaults.maxPayloadBytes, 1, 2 ** 31 - 1),
    idleTimeoutSecs: integer(env, "WSFLEET_IDLE_TIMEOUT", defaults.idleTimeoutSecs, 0, 960),
    maxBackpressureBytes: integer(env, "WSFLEET_MAX_BACKPRESSURE", defaults.maxBackpressureBytes, 1, 2 ** 31 - 1),
    compression,
    drainTimeoutMs: integer(env, "WSFLEET_DRAIN_TIMEOUT_MS", defaults.drainTimeoutMs, 0, 86_400_000),
    drainSpreadMs: integer(env, "WSFLEET_DRAIN_SPREAD_MS", defaults.drainSpreadMs, 0, 86_400_000),
    appPath: env.WSFLEET_APP || undefined,
    trustProxy: env.WSFLEET_TRUST_PROXY === "1",
    busPath: env.WSFLEET_BUS || undefined,
    ledgerPath: env.WSFLEET_LEDGER || undefined,
    history: integer(env, "WSFLEET_HISTORY", 0, 0, 2 ** 31 - 1),
    allowedOrigins: Object.freeze(
      (env.WSFLEET_ALLOWED_ORIGINS ?? "")
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ""),
    ),
    requireOrigin: env.WSFLEET_REQUIRE_ORIGIN === "1",
    maxConnections: env.WSFLEET_MAX_CONNECTIONS
      ? integer(env, "WSFLEET_MAX_CONNECTIONS", undefined, 1, 2 ** 31 - 1)
      : undefined,
    tls: env.WSFLEET_TLS_CERT
      ? { certFile: env.WSFLEET_TLS_CERT, keyFile: env.WSFLEET_TLS_KEY || env.WSFLEET_TLS_CERT }
      : undefined,
    broker: env.WSFLEET_BROKER ? workerBroker(env) : undefined,
  });
}

/** WSFLEET_BROKER's fleet: its name (SUPERVISOR_GROUP_NAME) and origin (WSFLEET_BROKER_FLEET, hex). */
function workerBroker(env: NodeJS.ProcessEnv): WorkerBroker {
  const fleetOrigin = parseFleetOrigin(env.WSFLEET_BROKER_FLEET ?? "");
  if (!env.SUPERVISOR_GROUP_NAME) throw new Error("WSFLEET_BROKER needs SUPERVISOR_GROUP_NAME, the fleet's name");
  return { url: env.WSFLEET_BROKER as string, name: env.SUPERVISOR_GROUP_NAME, fleetOrigin };
}

/**
 * Validation, once at start: the command line's strings become one frozen `Options`, cut into the slice each part
 * receives. Pure: it reads no file, no environment and no clock; what it needs from outside comes in `defaults`.
 */

import type { AddressLimits } from "../admission/address-ledger.js";
import { invalidOption, wsfleetError } from "../errors.js";
import type { LogFormat } from "../log/logger.js";
import type { ConnectionSettings } from "../protocol/worker-env.js";
import { MAX_PORT } from "../protocol/worker-env.js";
import { validateAdmission } from "./admission.js";
import { parseInteger } from "./parsers.js";
import { longFlag, MAX_WORKERS, type RawOptions, SETTINGS, type SettingName, WORKERS_HINT } from "./settings.js";
import { required, settingValue } from "./values.js";

interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Consecutive ports (worker i on basePort + i), or one port every worker shares with SO_REUSEPORT. */
export type PortsOptions =
  | { readonly kind: "consecutive"; readonly basePort: number }
  | { readonly kind: "shared"; readonly port: number };

/** What runs in each slot: the built-in uWebSockets.js worker (with the user's app, if any), or any program. */
type WorkerKind =
  | { readonly kind: "builtin"; readonly app: string | undefined }
  | { readonly kind: "exec"; readonly command: string };

/** The fleet's slice: its slots, what runs in them and where. */
export interface FleetOptions {
  readonly name: string;
  readonly workers: number;
  readonly host: string;
  readonly ports: PortsOptions;
  readonly worker: WorkerKind;
  /** How built-in workers treat connections; --exec programs find these in their environment too. */
  readonly connections: ConnectionSettings;
}

/** Supervisor's settings for every supervised process (workers and HAProxy). */
export interface SupervisionOptions {
  readonly startSecs: number;
  readonly startRetries: number;
  readonly stopTimeoutMs: number;
}

/** The frontend part, shared by `--haproxy` and `wsfleet haproxy-config`. */
export interface FrontendOptions {
  readonly frontend: HostPort;
  readonly stats: HostPort | undefined;
  readonly tunnelTimeoutMs: number;
}

export interface HaproxyOptions extends FrontendOptions {
  /** The haproxy executable: a name looked up on PATH, or a path. */
  readonly bin: string;
}

/** `--dashboard`: where the live page listens, and the token it asks for (required beyond loopback). */
interface DashboardOptions extends HostPort {
  readonly token: string | undefined;
}

/** `--tls-cert`/`--tls-key` as given; the files are read and checked at the edge (src/tls/), not here. */
export interface TlsOptions {
  readonly certFile: string;
  /** undefined: the key is in the certificate file, as in HAProxy's `crt` files. */
  readonly keyFile: string | undefined;
}

/** `--history <n>` and `--history-ttl <s>`. */
interface HistoryOptions {
  readonly size: number;
  readonly ttlSecs: number;
}

/** `--history` is for the built-in worker's `fleet.publish`: an --exec program has no fleet handle. */
function validateHistory(raw: RawOptions, worker: WorkerKind): HistoryOptions | undefined {
  const size = required(raw, "history");
  if (size === 0) return undefined;
  if (worker.kind === "exec") {
    throw invalidOption(
      "--history",
      raw.history,
      "it without --exec: the history is of fleet.publish, for apps run by the built-in worker (--app)",
    );
  }
  return Object.freeze({ size, ttlSecs: required(raw, "historyTtl") });
}

/** Every setting of a fleet, validated once at start and frozen. */
export interface Options {
  readonly fleet: FleetOptions;
  readonly supervision: SupervisionOptions;
  readonly logFormat: LogFormat;
  /** Where the primary's runtime directory goes (--runtime-dir); undefined: the system's temporary directory. */
  readonly runtimeDir: string | undefined;
  /** Where the primary serves Prometheus metrics, if anywhere. */
  readonly metrics: HostPort | undefined;
  readonly dashboard: DashboardOptions | undefined;
  /** Set with --haproxy: the primary runs HAProxy in front of its workers. */
  readonly haproxy: HaproxyOptions | undefined;
  /** --broker: the Redis URL through which `fleet.publish` reaches other fleets of the same name. */
  readonly broker: string | undefined;
  /** --history: every topic's last `size` messages and offsets; undefined: off. */
  readonly history: HistoryOptions | undefined;
  /** Set with --tls-cert: wss:// at HAProxy's frontend (--haproxy) or in the built-in workers. */
  readonly tls: TlsOptions | undefined;
  /** --max-conns-per-ip, --handshake-rate: by HAProxy's stick tables with --haproxy, else by the primary's ledger. */
  readonly addressLimits: AddressLimits | undefined;
}

export interface OptionDefaults {
  /** WEB_CONCURRENCY, as gunicorn and Heroku use it. */
  webConcurrency: string | undefined;
  cpuCount: number;
}

function parseWorkers(raw: RawOptions, defaults: OptionDefaults): number {
  if (raw.workers !== undefined) return required(raw, "workers");
  if (defaults.webConcurrency !== undefined && defaults.webConcurrency !== "") {
    return parseInteger(
      "WEB_CONCURRENCY",
      defaults.webConcurrency,
      1,
      MAX_WORKERS,
      `${WORKERS_HINT} (or unset WEB_CONCURRENCY to use one worker per CPU)`,
    );
  }
  return Math.max(1, defaults.cpuCount);
}

/** The fleet's shape: name, workers, host and consecutive ports; shared by the main command and haproxy-config. */
export function validateFleetShape(
  raw: RawOptions,
  defaults: OptionDefaults,
): { name: string; workers: number; host: string; basePort: number } {
  const workers = parseWorkers(raw, defaults);
  const basePort = required(raw, "basePort");
  if (raw.sharedPort === undefined && basePort + workers - 1 > MAX_PORT) {
    throw invalidOption(
      "--base-port",
      raw.basePort ?? SETTINGS.basePort.default,
      `a base port that leaves room for ${workers} workers: at most ${MAX_PORT - workers + 1}, or fewer --workers`,
    );
  }
  return { name: required(raw, "name"), workers, host: required(raw, "host"), basePort };
}

export function validateFrontendOptions(raw: RawOptions): FrontendOptions {
  const port = required(raw, "frontendPort");
  const stats = settingValue(raw, "haproxyStats");
  if (stats && stats.port === port) {
    throw invalidOption("--haproxy-stats", raw.haproxyStats, `a port other than the frontend's ${port}`);
  }
  return {
    frontend: { host: required(raw, "frontendHost"), port },
    stats,
    tunnelTimeoutMs: Math.round(required(raw, "tunnelTimeout") * 1000),
  };
}

const HAPROXY_ONLY: readonly SettingName[] = [
  "haproxyBin",
  "frontendHost",
  "frontendPort",
  "haproxyStats",
  "tunnelTimeout",
];

/** undefined without --haproxy; an HAProxy-only option without it is a mistake worth saying. */
function validateHaproxyOptions(raw: RawOptions): HaproxyOptions | undefined {
  if (!raw.haproxy) {
    const stray = HAPROXY_ONLY.find((name) => raw[name] !== undefined);
    if (stray) {
      throw invalidOption(
        longFlag(SETTINGS[stray]),
        raw[stray],
        "it together with --haproxy, which starts the HAProxy it configures",
      );
    }
    return undefined;
  }
  return Object.freeze({ ...validateFrontendOptions(raw), bin: settingValue(raw, "haproxyBin") ?? "haproxy" });
}

/** 127.0.0.0/8, ::1 and localhost: what only this machine can reach. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function validateDashboardOptions(raw: RawOptions): DashboardOptions | undefined {
  const address = settingValue(raw, "dashboard");
  const token = settingValue(raw, "dashboardToken");
  if (!address) {
    if (token !== undefined) {
      throw invalidOption("--dashboard-token", "(hidden)", "it together with --dashboard, whose page asks for it");
    }
    return undefined;
  }
  if (token === undefined && !isLoopback(address.host)) {
    throw wsfleetError("dashboardBeyondLoopback", raw.dashboard, address.port);
  }
  const metrics = settingValue(raw, "metrics");
  if (metrics && metrics.port === address.port && metrics.host !== address.host) {
    throw invalidOption("--dashboard", raw.dashboard, `the same host as --metrics (${metrics.host}) to share its port`);
  }
  return Object.freeze({ ...address, token });
}

/** The TLS files' names; whether they hold a matching, valid certificate and key is checked by src/tls/ at start. */
export function validateTlsOptions(raw: RawOptions): TlsOptions | undefined {
  const certFile = settingValue(raw, "tlsCert");
  const keyFile = settingValue(raw, "tlsKey");
  if (certFile === undefined) {
    if (keyFile !== undefined) {
      throw invalidOption("--tls-key", raw.tlsKey, "it together with --tls-cert, the certificate the key belongs to");
    }
    return undefined;
  }
  return Object.freeze({ certFile, keyFile });
}

function validateWorkerKind(raw: RawOptions): WorkerKind {
  const command = settingValue(raw, "exec");
  const app = settingValue(raw, "app");
  if (app !== undefined && command !== undefined) {
    throw invalidOption(
      "--app",
      app,
      "either --app (a module run by the built-in worker) or --exec (any program), not both",
    );
  }
  return command === undefined ? { kind: "builtin", app } : { kind: "exec", command };
}

export function validateOptions(raw: RawOptions, defaults: OptionDefaults): Options {
  const shape = validateFleetShape(raw, defaults);
  const sharedPort = settingValue(raw, "sharedPort");
  const worker = validateWorkerKind(raw);
  const haproxy = validateHaproxyOptions(raw);
  const broker = settingValue(raw, "broker");
  if (broker !== undefined && worker.kind === "exec") {
    throw invalidOption(
      "--broker",
      broker,
      "it without --exec: fleet.publish is for apps run by the built-in worker (--app), not for other programs",
    );
  }
  if (haproxy && sharedPort !== undefined) {
    throw invalidOption(
      "--shared-port",
      raw.sharedPort,
      "either --shared-port (the kernel balances one port) or --haproxy (HAProxy balances consecutive ports), not both",
    );
  }
  const tls = validateTlsOptions(raw);
  if (tls && !haproxy && worker.kind === "exec") {
    throw invalidOption(
      "--tls-cert",
      raw.tlsCert,
      "it with --haproxy when workers are --exec programs: HAProxy then terminates TLS; the built-in workers serve TLS themselves, an --exec program does not",
    );
  }
  const admission = validateAdmission(raw, { exec: worker.kind === "exec", haproxy: haproxy !== undefined });
  const connections: ConnectionSettings = Object.freeze({
    maxPayloadBytes: required(raw, "maxPayload"),
    idleTimeoutSecs: required(raw, "idleTimeout"),
    maxBackpressureBytes: required(raw, "maxBackpressure"),
    compression: required(raw, "compression"),
    drainTimeoutMs: Math.round(required(raw, "drainTimeout") * 1000),
    drainSpreadMs: Math.round(required(raw, "drainSpread") * 1000),
    trustProxy: raw.trustProxy === true,
    ...admission.worker,
  });
  return Object.freeze({
    fleet: Object.freeze({
      name: shape.name,
      workers: shape.workers,
      host: shape.host,
      ports: Object.freeze(
        sharedPort === undefined
          ? { kind: "consecutive" as const, basePort: shape.basePort }
          : { kind: "shared" as const, port: sharedPort },
      ),
      worker: Object.freeze(worker),
      connections,
    }),
    supervision: Object.freeze({
      startSecs: required(raw, "startSecs"),
      startRetries: required(raw, "startRetries"),
      stopTimeoutMs: Math.round(required(raw, "stopTimeout") * 1000),
    }),
    logFormat: required(raw, "logFormat"),
    runtimeDir: settingValue(raw, "runtimeDir"),
    metrics: settingValue(raw, "metrics"),
    dashboard: validateDashboardOptions(raw),
    haproxy,
    broker,
    history: validateHistory(raw, worker),
    tls,
    addressLimits: admission.addressLimits,
  });
}

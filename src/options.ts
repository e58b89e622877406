import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { invalidOption } from "./errors.js";
import { type HaproxyOptions, type RawHaproxyOptions, validateHaproxyOptions } from "./haproxy/options.js";
import { MAX_PORT, parseBytes, parseInteger, parsePort, parseSeconds } from "./option-values.js";
import { type Compression, WORKER_DEFAULTS } from "./worker/settings.js";

export type LogFormat = "text" | "json";

/** Every setting of a fleet, validated once at start and frozen. */
export interface Options {
  readonly workers: number;
  readonly basePort: number;
  readonly host: string;
  readonly name: string;
  readonly exec: string | undefined;
  readonly startSecs: number;
  readonly startRetries: number;
  readonly stopTimeoutMs: number;
  readonly logFormat: LogFormat;
  /** All workers on this one port with SO_REUSEPORT (the kernel balances); undefined: consecutive ports. */
  readonly sharedPort: number | undefined;
  readonly maxPayloadBytes: number;
  readonly idleTimeoutSecs: number;
  readonly maxBackpressureBytes: number;
  readonly compression: Compression;
  readonly drainTimeoutMs: number;
  /** Absolute path of the user's WsfleetApp module. */
  readonly app: string | undefined;
  readonly trustProxy: boolean;
  /** Where the primary serves Prometheus metrics, if anywhere. */
  readonly metrics: { host: string; port: number } | undefined;
  /** Set with --haproxy: the primary runs HAProxy in front of its workers. */
  readonly haproxy: HaproxyOptions | undefined;
}

/** What the command line gives: strings, or undefined when the option was not passed. */
export interface RawOptions extends RawHaproxyOptions {
  workers?: string;
  basePort?: string;
  host?: string;
  name?: string;
  exec?: string;
  startSecs?: string;
  startRetries?: string;
  stopTimeout?: string;
  logFormat?: string;
  sharedPort?: string;
  maxPayload?: string;
  idleTimeout?: string;
  maxBackpressure?: string;
  compression?: string;
  drainTimeout?: string;
  app?: string;
  trustProxy?: boolean;
  metrics?: string;
}

export interface OptionDefaults {
  /** WEB_CONCURRENCY, as gunicorn and Heroku use it. */
  webConcurrency: string | undefined;
  cpuCount: number;
  /** Relative --app paths resolve from here. */
  cwd?: string;
}

const MAX_WORKERS = 1024;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The primary's Prometheus endpoint: a port (on 127.0.0.1) or host:port. */
function parseMetricsAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[?([^\]\s]*?)\]?:)?(\d+)$/.exec(value.trim());
  if (!match?.[2]) {
    throw invalidOption(
      "--metrics",
      value,
      "a port or host:port for the Prometheus endpoint, for example --metrics 9100",
    );
  }
  return { host: match[1] || "127.0.0.1", port: parsePort("--metrics", match[2]) };
}

function parseWorkers(raw: RawOptions, defaults: OptionDefaults): number {
  const hint = `a whole number of workers from 1 to ${MAX_WORKERS}, for example --workers 4`;
  if (raw.workers !== undefined) return parseInteger("--workers", raw.workers, 1, MAX_WORKERS, hint);
  if (defaults.webConcurrency !== undefined && defaults.webConcurrency !== "") {
    return parseInteger(
      "WEB_CONCURRENCY",
      defaults.webConcurrency,
      1,
      MAX_WORKERS,
      `${hint} (or unset WEB_CONCURRENCY to use one worker per CPU)`,
    );
  }
  return Math.max(1, defaults.cpuCount);
}

export function validateOptions(raw: RawOptions, defaults: OptionDefaults): Options {
  const workers = parseWorkers(raw, defaults);
  const basePort = parseInteger(
    "--base-port",
    raw.basePort ?? "8000",
    1,
    MAX_PORT,
    `a port from 1 to ${MAX_PORT}, for example --base-port 8000`,
  );
  if (raw.sharedPort === undefined && basePort + workers - 1 > MAX_PORT) {
    throw invalidOption(
      "--base-port",
      raw.basePort ?? "8000",
      `a base port that leaves room for ${workers} workers: at most ${MAX_PORT - workers + 1}, or fewer --workers`,
    );
  }
  const host = (raw.host ?? "localhost").trim();
  if (host === "" || /\s/.test(host)) {
    throw invalidOption("--host", raw.host, "a host name or address, for example --host localhost or --host 0.0.0.0");
  }
  const name = raw.name ?? "websockets-test";
  if (!NAME_PATTERN.test(name)) {
    throw invalidOption(
      "--name",
      name,
      "a program name of letters, digits, '.', '_' and '-' that starts with a letter or digit, for example --name websockets-test",
    );
  }
  const exec = raw.exec?.trim();
  if (raw.exec !== undefined && !exec) {
    throw invalidOption("--exec", raw.exec, 'a command to run in each slot, for example --exec "python3 app.py"');
  }
  const startSecs = parseSeconds(
    "--start-secs",
    raw.startSecs ?? "1",
    0,
    "seconds a worker must stay up to count as started, 0 or more, for example --start-secs 1",
  );
  const startRetries = parseInteger(
    "--start-retries",
    raw.startRetries ?? "3",
    0,
    1000,
    "how many failed starts to retry before FATAL, from 0 to 1000, for example --start-retries 3",
  );
  const stopTimeout = parseSeconds(
    "--stop-timeout",
    raw.stopTimeout ?? "10",
    0.1,
    "seconds to wait for a worker to stop before SIGKILL, at least 0.1, for example --stop-timeout 10",
  );
  const logFormat = raw.logFormat ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw invalidOption("--log-format", logFormat, "text or json");
  }
  const sharedPort =
    raw.sharedPort === undefined
      ? undefined
      : parseInteger(
          "--shared-port",
          raw.sharedPort,
          1,
          MAX_PORT,
          "the one port all workers share, for example --shared-port 8080",
        );
  const maxPayloadBytes = parseBytes(
    "--max-payload",
    raw.maxPayload ?? String(WORKER_DEFAULTS.maxPayloadBytes),
    1,
    "a message size limit in bytes, or with KiB/MiB, for example --max-payload 1MiB",
  );
  const idleTimeoutSecs = parseInteger(
    "--idle-timeout",
    raw.idleTimeout ?? String(WORKER_DEFAULTS.idleTimeoutSecs),
    0,
    960,
    "seconds of silence before a connection is closed (a ping goes out at half of it), 0 to disable, at most 960, for example --idle-timeout 40",
  );
  if (idleTimeoutSecs > 0 && idleTimeoutSecs < 8) {
    throw invalidOption(
      "--idle-timeout",
      raw.idleTimeout,
      "0 (off) or at least 8 seconds: uWebSockets.js counts timeouts in 4 s steps",
    );
  }
  const maxBackpressureBytes = parseBytes(
    "--max-backpressure",
    raw.maxBackpressure ?? String(WORKER_DEFAULTS.maxBackpressureBytes),
    1,
    "bytes a slow reader may have queued before it is closed, or with KiB/MiB, for example --max-backpressure 64KiB",
  );
  const compression = raw.compression ?? WORKER_DEFAULTS.compression;
  if (compression !== "off" && compression !== "shared" && compression !== "dedicated") {
    throw invalidOption("--compression", compression, "off, shared or dedicated (permessage-deflate)");
  }
  const drainTimeout = parseSeconds(
    "--drain-timeout",
    raw.drainTimeout ?? String(WORKER_DEFAULTS.drainTimeoutMs / 1000),
    0,
    "seconds a draining worker keeps its connections open before closing them, 0 or more, for example --drain-timeout 1",
  );
  const app = raw.app?.trim();
  if (raw.app !== undefined && !app)
    throw invalidOption("--app", raw.app, "a path to a module, for example --app ./handler.js");
  if (app && !existsSync(resolve(defaults.cwd ?? process.cwd(), app))) {
    throw invalidOption("--app", app, "the path of an existing module, for example --app ./examples/chat-room.js");
  }
  if (app && exec)
    throw invalidOption(
      "--app",
      app,
      "either --app (a module run by the built-in worker) or --exec (any program), not both",
    );
  const metrics = raw.metrics === undefined ? undefined : parseMetricsAddress(raw.metrics);
  const haproxy = validateHaproxyOptions(raw);
  if (haproxy && sharedPort !== undefined) {
    throw invalidOption(
      "--shared-port",
      raw.sharedPort,
      "either --shared-port (the kernel balances one port) or --haproxy (HAProxy balances consecutive ports), not both",
    );
  }
  return Object.freeze({
    workers,
    basePort,
    host,
    name,
    exec: exec || undefined,
    startSecs,
    startRetries,
    stopTimeoutMs: Math.round(stopTimeout * 1000),
    logFormat,
    sharedPort,
    maxPayloadBytes,
    idleTimeoutSecs,
    maxBackpressureBytes,
    compression,
    drainTimeoutMs: Math.round(drainTimeout * 1000),
    app: app ? resolve(defaults.cwd ?? process.cwd(), app) : undefined,
    trustProxy: raw.trustProxy === true,
    metrics,
    haproxy,
  });
}

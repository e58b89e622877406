import { invalidOption } from "./errors.js";
import { type HaproxyOptions, type RawHaproxyOptions, validateHaproxyOptions } from "./haproxy/options.js";
import { MAX_PORT, parseInteger, parseSeconds } from "./option-values.js";

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
  /** How long a draining built-in worker keeps open connections before closing them (WSFLEET_DRAIN_TIMEOUT_MS). */
  readonly drainTimeoutMs: number;
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
  drainTimeout?: string;
}

export interface OptionDefaults {
  /** WEB_CONCURRENCY, as gunicorn and Heroku use it. */
  webConcurrency: string | undefined;
  cpuCount: number;
}

const MAX_WORKERS = 1024;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

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
  if (basePort + workers - 1 > MAX_PORT) {
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
  const drainTimeout = parseSeconds(
    "--drain-timeout",
    raw.drainTimeout ?? "1",
    0,
    "seconds a draining worker keeps its open connections before closing them with 1012, 0 or more, for example --drain-timeout 1",
  );
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
    drainTimeoutMs: Math.round(drainTimeout * 1000),
    haproxy: validateHaproxyOptions(raw),
  });
}

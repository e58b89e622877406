/**
 * One catalogue of user-facing failures (fastify's lib/errors.js): each kind of failure has a stable code, the exit
 * code it ends a command with, and the one function that builds its message, naming the value and the fix. Call sites
 * say which failure it is and hand over the values: `wsfleetError("portInUse", host, port, holder, "--base-port")`.
 */

export const EXIT_USAGE = 2;
/** A failure of the running fleet or of a primary asked over its socket, not of what the user typed. */
const EXIT_FAILURE = 1;

export interface PortHolder {
  pid: number;
  command: string;
}

/** One kind of failure: its code, its exit code and its message builder. */
interface ErrorKind<A extends unknown[]> {
  readonly code: string;
  readonly exitCode: number;
  readonly message: (...args: A) => string;
}

function kind<const C extends string, A extends unknown[]>(
  code: C,
  exitCode: number,
  message: (...args: A) => string,
): ErrorKind<A> & { readonly code: C } {
  return Object.freeze({ code, exitCode, message });
}

export const ERROR_CATALOGUE = {
  /** `--workers abc` → names the option, the value and what would be right. */
  invalidOption: kind(
    "WSFLEET_INVALID_OPTION",
    EXIT_USAGE,
    (option: string, value: unknown, expected: string) =>
      `invalid value for ${option}: ${JSON.stringify(value)}; expected ${expected}`,
  ),
  dashboardBeyondLoopback: kind(
    "WSFLEET_INVALID_OPTION",
    EXIT_USAGE,
    (given: string | undefined, port: number) =>
      `--dashboard ${given} listens beyond loopback, where anyone who reaches it could watch the fleet: add --dashboard-token <token> (at least 16 characters, for example $(openssl rand -hex 16)), or use --dashboard 127.0.0.1:${port}`,
  ),
  /** `--config <file>` that cannot be used: names the file, what is wrong in it (the key, the value) and the fix. */
  configFileInvalid: kind(
    "WSFLEET_CONFIG_INVALID",
    EXIT_USAGE,
    (file: string, problem: string) => `--config ${file}: ${problem}`,
  ),
  configFileUnreadable: kind(
    "WSFLEET_CONFIG_INVALID",
    EXIT_USAGE,
    (file: string, reason: string) =>
      `cannot read --config ${file} (${reason}); pass the path of a JSON file of options this user may read, for example --config /etc/wsfleet/fleet.json`,
  ),
  /** `wsfleet reload` (SIGHUP) whose file changes something a running fleet cannot take: nothing is changed. */
  reloadRefused: kind(
    "WSFLEET_RELOAD_REFUSED",
    EXIT_USAGE,
    (file: string, reasons: readonly string[]) =>
      `reload of ${file} refused, nothing changed: ${reasons.join("; ")}; put the old value back and reload, or restart the fleet (systemctl restart) to apply it`,
  ),
  /** `wsfleet upgrade` this fleet (or this moment) cannot take: nothing was started, the fleet serves on. */
  upgradeRefused: kind(
    "WSFLEET_UPGRADE_REFUSED",
    EXIT_USAGE,
    (reason: string) => `upgrade refused, nothing changed: ${reason}`,
  ),
  /** The new primary did not become ready: it was stopped, and the old one keeps serving. */
  upgradeFailed: kind(
    "WSFLEET_UPGRADE_FAILED",
    EXIT_FAILURE,
    (reason: string) => `upgrade failed, the running primary keeps serving: ${reason}`,
  ),
  reloadFailed: kind(
    "WSFLEET_RELOAD_FAILED",
    EXIT_FAILURE,
    (file: string, reason: string) => `reload of ${file} failed, nothing changed: ${reason}`,
  ),
  portInUse: kind(
    "WSFLEET_PORT_IN_USE",
    EXIT_USAGE,
    (host: string, port: number, holder: PortHolder | undefined, option: string) =>
      `port ${port} on ${host} is already in use${holder ? ` by pid ${holder.pid} (${holder.command})` : ""}; stop that process or choose another ${option}`,
  ),
  runtimeDirUnwritable: kind(
    "WSFLEET_RUNTIME_DIR",
    EXIT_USAGE,
    (parent: string, reason: string) =>
      `cannot create the runtime directory in ${parent} (${reason}); choose a directory this user may write with --runtime-dir`,
  ),
  haproxyNotFound: kind("WSFLEET_HAPROXY_NOT_FOUND", EXIT_USAGE, (bin: string) =>
    bin.includes("/")
      ? `--haproxy-bin ${JSON.stringify(bin)} is not an executable file; pass the path of haproxy, or install it (Debian/Ubuntu: apt-get install -y haproxy)`
      : `no ${JSON.stringify(bin)} on PATH; install HAProxy (Debian/Ubuntu: apt-get install -y haproxy) or pass --haproxy-bin /path/to/haproxy`,
  ),
  haproxyConfigInvalid: kind(
    "WSFLEET_HAPROXY_CONFIG_INVALID",
    EXIT_USAGE,
    (configPath: string, output: string) =>
      `haproxy -c rejected the generated config ${configPath}:\n${output}\nthis is a wsfleet bug unless an option value is at fault; check --frontend-host, --frontend-port and --haproxy-stats`,
  ),
  haproxyDidNotStart: kind(
    "WSFLEET_HAPROXY_FATAL",
    EXIT_FAILURE,
    (reason: string) => `haproxy could not start: ${reason}`,
  ),
  /** A TLS file that cannot be served: names the option, the file, what is wrong and the fix. */
  tlsFileInvalid: kind(
    "WSFLEET_TLS_INVALID",
    EXIT_USAGE,
    (option: string, file: string, problem: string) => `${option} ${JSON.stringify(file)}: ${problem}`,
  ),
  tlsKeyMissing: kind(
    "WSFLEET_TLS_INVALID",
    EXIT_USAGE,
    (certFile: string) =>
      `--tls-key missing: the certificate file ${JSON.stringify(certFile)} holds no private key; pass --tls-key <file> or append the key to the certificate file`,
  ),
  noCertificate: kind(
    "WSFLEET_TLS_INVALID",
    EXIT_USAGE,
    () =>
      "this primary was started without --tls-cert: there is no certificate to reload; restart it with --tls-cert <file>",
  ),
  brokerUnreachable: kind(
    "WSFLEET_BROKER_UNREACHABLE",
    EXIT_USAGE,
    (url: string, reason: string) => `cannot reach --broker ${url}: ${reason}; start Redis there or fix --broker`,
  ),
  noPrimary: kind("WSFLEET_NO_PRIMARY", EXIT_USAGE, (runtimeDir: string, pids: readonly number[]) =>
    pids.length === 0
      ? `no running wsfleet primary of this user found (in ${runtimeDir}/wsfleet-*/primary.pid); pass --pid <pid>, or --runtime-dir <dir> for a primary started with one (a systemd unit: /run/wsfleet)`
      : `${pids.length} running primaries found (pids ${pids.join(", ")}); choose one with --pid <pid>`,
  ),
  noRuntimeDir: kind(
    "WSFLEET_STATUS_FAILED",
    EXIT_USAGE,
    (pid: number, runtimeDir: string) =>
      `primary ${pid} has no runtime directory of this user in ${runtimeDir}; pass the --runtime-dir it was started with (a systemd unit: /run/wsfleet)`,
  ),
  primarySilent: kind(
    "WSFLEET_STATUS_FAILED",
    EXIT_FAILURE,
    (pid: number, reason: string) => `primary ${pid} did not answer: ${reason}`,
  ),
  primaryRefused: kind(
    "WSFLEET_STATUS_FAILED",
    EXIT_FAILURE,
    (pid: number, answer: string) => `primary ${pid}: ${answer}`,
  ),
  primaryDidNotExit: kind(
    "WSFLEET_STATUS_FAILED",
    EXIT_FAILURE,
    (pid: number) => `primary ${pid} stopped its workers but did not exit`,
  ),
  unknownWorker: kind(
    "WSFLEET_UNKNOWN_WORKER",
    EXIT_FAILURE,
    (pid: number, answer: string) => `primary ${pid}: ${answer}`,
  ),
} as const;

type Catalogue = typeof ERROR_CATALOGUE;
export type ErrorKindName = keyof Catalogue;
export type WsfleetErrorCode = Catalogue[ErrorKindName]["code"];

export class WsfleetError extends Error {
  readonly code: WsfleetErrorCode;
  readonly exitCode: number;

  /** Carries a message built by the catalogue, or one a running primary reported (the control protocol). */
  constructor(code: WsfleetErrorCode, message: string, exitCode: number) {
    super(message);
    this.name = "WsfleetError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Whether `code` is one of the catalogue's (a primary's report is re-raised with it). */
export function isErrorCode(code: unknown): code is WsfleetErrorCode {
  return Object.values(ERROR_CATALOGUE).some((each) => each.code === code);
}

/** The failure `name` of the catalogue, its message built from `args`. */
export function wsfleetError<K extends ErrorKindName>(
  name: K,
  ...args: Parameters<Catalogue[K]["message"]>
): WsfleetError {
  const entry = ERROR_CATALOGUE[name] as ErrorKind<Parameters<Catalogue[K]["message"]>>;
  return new WsfleetError(entry.code as WsfleetErrorCode, entry.message(...args), entry.exitCode);
}

/** The most common one, by its own name: `invalidOption("--workers", "abc", "a whole number …")`. */
export function invalidOption(option: string, value: unknown, expected: string): WsfleetError {
  return wsfleetError("invalidOption", option, value, expected);
}

/** Formats any error for the terminal: expected failures without a stack trace. */
export function formatError(error: unknown): string {
  if (error instanceof WsfleetError) return `wsfleet: ${error.code}: ${error.message}`;
  if (error instanceof Error) return `wsfleet: unexpected error: ${error.stack ?? error.message}`;
  return `wsfleet: unexpected error: ${String(error)}`;
}

/** One catalogue of user-facing failures: a stable code, a message that names the value and the fix, an exit code. */

export const EXIT_USAGE = 2;

export type WsfleetErrorCode =
  | "WSFLEET_INVALID_OPTION"
  | "WSFLEET_PORT_IN_USE"
  | "WSFLEET_EXEC_FAILED"
  | "WSFLEET_WORKER_FATAL"
  | "WSFLEET_HAPROXY_NOT_FOUND"
  | "WSFLEET_HAPROXY_CONFIG_INVALID"
  | "WSFLEET_HAPROXY_FATAL"
  | "WSFLEET_TLS_INVALID"
  | "WSFLEET_NO_PRIMARY"
  | "WSFLEET_STATUS_FAILED"
  | "WSFLEET_BROKER_UNREACHABLE"
  | "WSFLEET_RUNTIME_DIR"
  | "WSFLEET_UNKNOWN_WORKER";

export class WsfleetError extends Error {
  readonly code: WsfleetErrorCode;
  readonly exitCode: number;

  constructor(code: WsfleetErrorCode, message: string, exitCode = EXIT_USAGE) {
    super(message);
    this.name = "WsfleetError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** `--workers abc` → names the option, the value and what would be right. */
export function invalidOption(option: string, value: unknown, expected: string): WsfleetError {
  return new WsfleetError(
    "WSFLEET_INVALID_OPTION",
    `invalid value for ${option}: ${JSON.stringify(value)}; expected ${expected}`,
  );
}

export interface PortHolder {
  pid: number;
  command: string;
}

export function portInUse(
  host: string,
  port: number,
  holder: PortHolder | undefined,
  option = "--base-port",
): WsfleetError {
  const who = holder ? ` by pid ${holder.pid} (${holder.command})` : "";
  return new WsfleetError(
    "WSFLEET_PORT_IN_USE",
    `port ${port} on ${host} is already in use${who}; stop that process or choose another ${option}`,
  );
}

/** Formats any error for the terminal: expected failures without a stack trace. */
export function formatError(error: unknown): string {
  if (error instanceof WsfleetError) return `wsfleet: ${error.code}: ${error.message}`;
  if (error instanceof Error) return `wsfleet: unexpected error: ${error.stack ?? error.message}`;
  return `wsfleet: unexpected error: ${String(error)}`;
}

/**
 * Why a handshake is refused, and how each refusal is answered: the one table the worker answers from and the
 * metrics, `wsfleet status` and the dashboard count by. Pure.
 */
export type RefusalReason =
  | "draining"
  | "max-connections"
  | "origin"
  | "conns-per-ip"
  | "handshake-rate"
  | "admission-unavailable"
  | "authorize"
  | "authorize-error";

export interface RefusalAnswer {
  /** The HTTP status line: "403 Forbidden". */
  readonly status: string;
  readonly body: string;
  /** Seconds for `Retry-After`, when trying again later can succeed. */
  readonly retryAfterSecs?: number;
}

export const REFUSAL_ANSWERS: Readonly<Record<Exclude<RefusalReason, "authorize">, RefusalAnswer>> = Object.freeze({
  draining: { status: "503 Service Unavailable", body: "draining\n", retryAfterSecs: 1 },
  // The worker is full: HAProxy (its /healthz says full) or the client's retry finds another.
  "max-connections": { status: "503 Service Unavailable", body: "too many connections\n", retryAfterSecs: 1 },
  origin: { status: "403 Forbidden", body: "origin not allowed\n" },
  "conns-per-ip": { status: "429 Too Many Requests", body: "too many connections from this address\n" },
  "handshake-rate": {
    status: "429 Too Many Requests",
    body: "too many handshakes from this address\n",
    retryAfterSecs: 1,
  },
  // The primary's ledger is out of reach for a moment (it ends its workers when it goes).
  "admission-unavailable": { status: "503 Service Unavailable", body: "try again\n", retryAfterSecs: 1 },
  "authorize-error": { status: "500 Internal Server Error", body: "authorization failed\n" },
});

/** Every reason, in the order status and metrics list them. */
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  "draining",
  "max-connections",
  "origin",
  "conns-per-ip",
  "handshake-rate",
  "admission-unavailable",
  "authorize",
  "authorize-error",
];

/** HTTP's reason phrases for the statuses an authorize hook is likely to use. */
const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  410: "Gone",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** "401 Unauthorized" for 401; a status without a known phrase gets a generic one, as HTTP allows. */
export function statusLine(status: number): string {
  return `${status} ${REASON_PHRASES[status] ?? (status < 500 ? "Refused" : "Error")}`;
}

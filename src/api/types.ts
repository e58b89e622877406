import type { TemplatedApp, WebSocket } from "uWebSockets.js";

/** What wsfleet keeps for every connection; an app's own per-connection data is merged into it. */
export interface ConnectionData {
  /** The client's address: from the PROXY protocol v2 header when a proxy sends one, else from the socket. */
  remoteAddress: string;
}

/** The handshake as an app sees it, valid only during `userData()`. */
export interface UpgradeRequest {
  url: string;
  query: string;
  remoteAddress: string;
  header(lowerCaseName: string): string;
}

/**
 * A WebSocket app that wsfleet runs in every worker (`--app ./handler.js`, default export). wsfleet wraps it with
 * the limits, `/healthz`, counters and drain; the built-in echo is itself one of these.
 */
export interface WsfleetApp<UserData extends object = object> {
  /** uWebSockets.js route pattern of the WebSocket endpoint; default "/*" (every path, as python websockets serves). */
  path?: string;
  /** Per-connection data made at the handshake; wsfleet adds `remoteAddress`. */
  userData?(request: UpgradeRequest): UserData;
  open?(ws: WebSocket<UserData & ConnectionData>): void;
  /** `message` is valid only during this call (uWebSockets.js neuters it after). */
  message(ws: WebSocket<UserData & ConnectionData>, message: ArrayBuffer, isBinary: boolean): void;
  close?(ws: WebSocket<UserData & ConnectionData>, code: number, reason: ArrayBuffer): void;
  /** A slow reader's backlog drained below the limit. */
  drain?(ws: WebSocket<UserData & ConnectionData>): void;
  /** Extra HTTP routes on the same uWebSockets.js app, registered before wsfleet's own fallbacks. */
  routes?(app: TemplatedApp): void;
}

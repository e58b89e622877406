import type { TemplatedApp, WebSocket } from "uWebSockets.js";
import type { Recovery, StreamPosition } from "../history/store.js";

export type { Recovery, StoredMessage, StreamPosition } from "../history/store.js";

/** What wsfleet keeps for every connection; an app's own per-connection data is merged into it. */
export interface ConnectionData {
  /** The client's address: from the PROXY protocol v2 header when a proxy sends one, else from the socket. */
  remoteAddress: string;
}

/**
 * The handshake as an app sees it: valid only during `userData()`, except in `authorize()`, which gets a copy it may
 * keep across an `await`.
 */
export interface UpgradeRequest {
  url: string;
  query: string;
  remoteAddress: string;
  header(lowerCaseName: string): string;
}

/**
 * What `authorize` answers: `true` lets the handshake in, `false` refuses it with 403, `{ status, reason }` refuses it
 * with that status (400-599) and the reason as the body, `{ userData }` lets it in with that object merged into the
 * connection's data (after what `userData()` made).
 */
export type AuthorizeResult = boolean | { status: number; reason?: string } | { userData: object };

/**
 * The fleet as an app sees it, handed to `setup(fleet)`: publish to a uWebSockets.js topic on every worker of the
 * fleet, and with `--broker` on every fleet of the same `--name` on that broker.
 */
export interface Fleet {
  /** `<name>_NN`, as Supervisor names the process (SUPERVISOR_PROCESS_NAME). */
  readonly workerName: string;
  /**
   * Delivers `message` once to every connection subscribed to `topic` (`ws.subscribe(topic)`) on every worker: this
   * worker's subscribers at once, the others' through the bus, in publish order. The message is copied before this
   * returns, so the ArrayBuffer a `message` hook received may be passed as it is. At most once: a publish made while
   * the bus or the broker is unreachable is lost for the subscribers it could not reach. Returns undefined.
   *
   * With --history ([recovery](../../docs/recovery.md)) every publish goes through the sequencer (this worker's
   * subscribers too get it back from there, so every worker sees one order), and the promise resolves with the
   * `{epoch, offset}` it got, or undefined if it was lost (the bus or the broker unreachable); it never rejects.
   */
  publish(
    topic: string,
    message: string | ArrayBuffer | Uint8Array,
    isBinary?: boolean,
  ): Promise<StreamPosition | undefined> | undefined;
  /**
   * Subscribes `ws` to `topic` ([recovery](../../docs/recovery.md)). Without --history, or without `since`, it is
   * `ws.subscribe(topic)`. With --history and `since` (the `{epoch, offset}` of the last message the client has, as
   * strings from a query string or as numbers), `ws` is first sent every message after it, in order, through
   * `envelope`, then gets the live ones: no gap, no duplicate at the seam. `beforeLive` runs at the seam,
   * synchronously: after the recovered messages, before the first live one (where to tell a client to resync).
   * Resolves with the same result; `recovered: false` when `since` could not be served (another epoch, older than the
   * history, beyond the last offset, malformed), with where the topic is now: `ws` is subscribed from there on.
   */
  subscribe(
    ws: WebSocket<object>,
    topic: string,
    since?: SincePosition,
    beforeLive?: (result: SubscribeResult) => void,
  ): Promise<SubscribeResult>;
  /**
   * With --history: the topic's stored messages after `since` (all of them without it), at most `limit`, oldest
   * first; or `recovered: false` with the topic's position. Without --history: rejects.
   */
  history(topic: string, options?: { since?: SincePosition; limit?: number }): Promise<Recovery>;
}

/** A position as a client sends it back: numbers, or the strings of a query string (`?epoch=…&offset=12`). */
export interface SincePosition {
  readonly epoch: string | null | undefined;
  readonly offset: number | string | null | undefined;
}

/** How `fleet.subscribe` went. */
export interface SubscribeResult {
  /** true: every message after `since` was sent (or no `since` was given); false: the client must resync. */
  readonly recovered: boolean;
  /** Where the topic is (the last offset before the live messages); undefined without --history. */
  readonly position: StreamPosition | undefined;
  /** How many messages were sent before the live ones. */
  readonly sent: number;
}

/** A sequenced message as `envelope` gets it: the payload is valid only during the call. */
export interface EnvelopeInput {
  readonly topic: string;
  readonly epoch: string;
  readonly offset: number;
  readonly payload: Buffer;
  readonly isBinary: boolean;
}

/**
 * A WebSocket app that wsfleet runs in every worker (`--app ./handler.js`, default export). wsfleet wraps it with
 * the limits, `/healthz`, counters and drain; the built-in echo is itself one of these.
 */
export interface WsfleetApp<UserData extends object = object> {
  /** uWebSockets.js route pattern of the WebSocket endpoint; default "/*" (every path, as python websockets serves). */
  path?: string;
  /** Called once in each worker before it listens, with the handle to publish fleet-wide. */
  setup?(fleet: Fleet): void | Promise<void>;
  /**
   * Runs before the upgrade, after wsfleet's own checks (Origin, limits), and may be async (a token checked against a
   * database). A client that leaves meanwhile is never upgraded; a hook that throws or rejects refuses with 500.
   */
  authorize?(request: UpgradeRequest): AuthorizeResult | Promise<AuthorizeResult>;
  /** Per-connection data made at the handshake; wsfleet adds `remoteAddress`. */
  userData?(request: UpgradeRequest): UserData;
  open?(ws: WebSocket<UserData & ConnectionData>): void;
  /** `message` is valid only during this call (uWebSockets.js neuters it after). */
  message(ws: WebSocket<UserData & ConnectionData>, message: ArrayBuffer, isBinary: boolean): void;
  close?(ws: WebSocket<UserData & ConnectionData>, code: number, reason: ArrayBuffer): void;
  /** A slow reader's backlog drained below the limit. */
  drain?(ws: WebSocket<UserData & ConnectionData>): void;
  /**
   * With --history: what a subscriber receives for a sequenced message (live or recovered), made once per message in
   * each worker, not per subscriber. A string goes as a text frame; bytes keep the message's binary flag. Default: the
   * payload unchanged (the client then sees no offset).
   */
  envelope?(message: EnvelopeInput): string | Uint8Array;
  /** Extra HTTP routes on the same uWebSockets.js app, registered before wsfleet's own fallbacks. */
  routes?(app: TemplatedApp): void;
}

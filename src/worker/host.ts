import uWS from "uWebSockets.js";
import { type GateSettings, isFull } from "../admission/gate.js";
import type { LedgerClient } from "../admission/ledger-client.js";
import type { RefusalLog } from "../admission/refusal-log.js";
import type { ConnectionData, WsfleetApp } from "../api/types.js";
import { CLOSE_MESSAGE_TOO_BIG } from "../protocol/close-codes.js";
import type { Counters } from "../protocol/counters.js";
import type { Compression, WorkerSettings } from "../protocol/worker-env.js";
import { upgradeHandler } from "./handshake.js";

type Connection = uWS.WebSocket<ConnectionData>;

/** What the host shares with the drain logic: the draining flag and the open connections. */
export interface HostState {
  draining: boolean;
  readonly open: Set<Connection>;
  /** Handshakes past the gate, waiting on the ledger or `authorize`. */
  upgrading: number;
  onAllClosed: (() => void) | undefined;
  /** uWebSockets.js' report of a topic's subscriber count changing (topic routing, worker/topic-interest.ts). */
  subscription?: ((topic: ArrayBuffer, newCount: number, oldCount: number) => void) | undefined;
}

/** Who may connect: the gate's settings, the primary's per-address ledger (if any) and the refusal log. */
export interface Admission {
  readonly gate: GateSettings;
  readonly ledger: LedgerClient | undefined;
  readonly log: RefusalLog;
}

function compressionOption(compression: Compression): uWS.CompressOptions {
  if (compression === "shared") return uWS.SHARED_COMPRESSOR | uWS.SHARED_DECOMPRESSOR;
  if (compression === "dedicated") return uWS.DEDICATED_COMPRESSOR_256KB | uWS.DEDICATED_DECOMPRESSOR;
  return uWS.DISABLED;
}

const STATUS_503 = "503 Service Unavailable";

/**
 * uWebSockets.js drops the TCP connection, with no close frame, when a message passes its own limit. Giving it
 * headroom (twice ours) lets us answer a message just over our limit with a real 1009 close frame; only a message
 * over twice the limit is cut at its frame header, without reading the payload.
 */
export function frameLimitBytes(maxPayloadBytes: number): number {
  return Math.min(maxPayloadBytes * 2, 2 ** 31 - 1);
}

/**
 * Wraps a WsfleetApp in a uWebSockets.js app with wsfleet's limits, counters, `/healthz`, draining, 426 for plain
 * HTTP on the WebSocket path and 404 elsewhere.
 */
export function hostApp(
  app: WsfleetApp,
  settings: WorkerSettings,
  counters: Counters,
  state: HostState,
  admission: Admission,
): uWS.TemplatedApp {
  const { gate, ledger } = admission;
  // The address each connection was counted under in the ledger, kept apart from the data the app may change.
  const ledgerAddresses = new WeakMap<Connection, string>();
  const path = app.path ?? "/*";
  // wss://: uWebSockets.js terminates TLS itself (it reads the files once, here; a new certificate needs a new worker).
  const base = settings.tls
    ? uWS.SSLApp({ cert_file_name: settings.tls.certFile, key_file_name: settings.tls.keyFile })
    : uWS.App();
  const server = base.ws<ConnectionData>(path, {
    compression: compressionOption(settings.compression),
    maxPayloadLength: frameLimitBytes(settings.maxPayloadBytes),
    idleTimeout: settings.idleTimeoutSecs,
    sendPingsAutomatically: true,
    maxBackpressure: settings.maxBackpressureBytes,
    // A reader that lets more than maxBackpressure pile up is closed rather than silently skipped.
    closeOnBackpressureLimit: true,
    upgrade: upgradeHandler({ app, settings, counters, state, ...admission }),
    open: (ws) => {
      state.open.add(ws);
      if (ledger) ledgerAddresses.set(ws, ws.getUserData().remoteAddress);
      counters.connectionsOpen += 1;
      counters.connectionsTotal += 1;
      app.open?.(ws);
    },
    message: (ws, message, isBinary) => {
      if (message.byteLength > settings.maxPayloadBytes) {
        ws.end(CLOSE_MESSAGE_TOO_BIG, "message too big");
        return;
      }
      counters.messagesIn += 1;
      counters.bytesIn += message.byteLength;
      app.message(ws, message, isBinary);
    },
    drain: app.drain ? (ws) => app.drain?.(ws) : undefined,
    subscription: (_ws, topic, newCount, oldCount) => state.subscription?.(topic, newCount, oldCount),
    close: (ws, code, reason) => {
      state.open.delete(ws);
      counters.connectionsOpen -= 1;
      const counted = ledgerAddresses.get(ws);
      if (counted !== undefined) ledger?.release(counted);
      counters.closeCodes[code] = (counters.closeCodes[code] ?? 0) + 1;
      app.close?.(ws, code, reason);
      if (state.open.size === 0) state.onAllClosed?.();
    },
  });
  app.routes?.(server);
  server.get("/healthz", (res) => {
    if (state.draining) res.writeStatus(STATUS_503).end("draining\n");
    // Full (--max-connections): HAProxy's check takes the worker out of rotation until a connection closes.
    else if (isFull(gate, state.open.size)) res.writeStatus(STATUS_503).end("full\n");
    else res.end("ok\n");
  });
  // A plain request on the WebSocket path: RFC 6455 §4.2.2 / RFC 9110 §15.5.22, 426 with the protocol to upgrade to.
  server.any(path, (res) => {
    res
      .writeStatus("426 Upgrade Required")
      .writeHeader("Upgrade", "websocket")
      .writeHeader("Connection", "Upgrade")
      .end("this is a WebSocket endpoint: send an Upgrade: websocket request\n");
  });
  if (path !== "/*") {
    server.any("/*", (res) => {
      res.writeStatus("404 Not Found").end("not found\n");
    });
  }
  return server;
}

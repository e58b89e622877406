import uWS from "uWebSockets.js";

/** Per-connection data: none for the echo, so the hot path allocates nothing of ours. */
type Connection = uWS.WebSocket<unknown>;

export interface EchoAppHooks {
  /** True once the worker is draining: handshakes and health checks get 503. */
  isDraining(): boolean;
  onOpen(ws: Connection): void;
  onClose(ws: Connection): void;
}

/** python websockets' default max_size, so the guide's clients meet the same limit. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * The built-in uWebSockets.js echo: every message goes back as it came (same bytes, same text/binary flag),
 * `GET /healthz` answers 200, a plain GET without an upgrade answers 426 Upgrade Required.
 */
export function createEchoApp(hooks: EchoAppHooks): uWS.TemplatedApp {
  return uWS
    .App()
    .ws("/*", {
      compression: uWS.DISABLED,
      maxPayloadLength: DEFAULT_MAX_PAYLOAD_BYTES,
      idleTimeout: 120,
      upgrade: (res, req, context) => {
        if (hooks.isDraining()) {
          res.writeStatus("503 Service Unavailable").writeHeader("Retry-After", "1").end("draining\n", true);
          return;
        }
        res.upgrade(
          {},
          req.getHeader("sec-websocket-key"),
          req.getHeader("sec-websocket-protocol"),
          req.getHeader("sec-websocket-extensions"),
          context,
        );
      },
      open: (ws) => hooks.onOpen(ws),
      message: (ws, message, isBinary) => {
        ws.send(message, isBinary);
      },
      close: (ws) => hooks.onClose(ws),
    })
    .get("/healthz", (res) => {
      if (hooks.isDraining()) res.writeStatus("503 Service Unavailable").end("draining\n");
      else res.end("ok\n");
    })
    .any("/*", (res) => {
      res
        .writeStatus("426 Upgrade Required")
        .writeHeader("Upgrade", "websocket")
        .end("WebSocket only: send an Upgrade: websocket request\n");
    });
}

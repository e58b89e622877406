import type { WsfleetApp } from "../api/types.js";
import type { Counters } from "../protocol/counters.js";

/** uWS send() status: 1 sent, 0 sent but buffered (backpressure), 2 dropped over maxBackpressure. */
const SEND_OK = 1;

/**
 * The built-in echo: the received buffer goes straight back with the same text/binary flag. No allocation of ours,
 * no logging, no JSON per message; only plain counters.
 */
export function createEchoApp(counters: Counters, compress: boolean): WsfleetApp {
  return {
    message(ws, message, isBinary) {
      const status = ws.send(message, isBinary, compress);
      if (status !== SEND_OK) counters.backpressureEvents += 1;
      counters.messagesOut += 1;
      counters.bytesOut += message.byteLength;
    },
  };
}

/**
 * Opening one WebSocket connection on a raw TCP socket. Reads go through `onread` into one buffer shared by every
 * socket of the process (the callback consumes it synchronously), which skips the stream machinery and a Buffer
 * allocation per read: the load generator's main saving per message.
 */
import net from "node:net";
import tls from "node:tls";
import { buildHandshakeRequest } from "./frames.js";

const HEADER_END = Buffer.from("\r\n\r\n");
const SHARED_READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * Connects and completes the opening handshake. Resolves with { socket, leftover, setReader }: `leftover` holds
 * bytes that came after the 101 response, `setReader(fn)` installs fn(buffer, length) for everything after.
 * Rejects on refusal, a non-101 answer, or after `timeoutMs`. `tls`: wss://, the TLS handshake first (the bench's
 * throw-away certificate is not verified: what is measured is the cost of TLS, not trust).
 */
export function openWebSocket({ host, port, path = "/", timeoutMs = 10_000, localAddress, tls: secure = false }) {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let onBytes = (buffer, length) => {
      head = Buffer.concat([head, buffer.subarray(0, length)]);
      const end = head.indexOf(HEADER_END);
      if (end === -1) return;
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.removeAllListeners("close");
      const statusLine = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
      onBytes = () => {};
      if (!/^HTTP\/1\.1 101 /.test(statusLine)) {
        socket.destroy();
        reject(new Error(`handshake refused: ${statusLine}`));
        return;
      }
      resolve({
        socket,
        leftover: head.subarray(end + HEADER_END.length),
        setReader: (reader) => {
          onBytes = reader;
        },
      });
    };
    const onread = { buffer: SHARED_READ_BUFFER, callback: (length, buffer) => onBytes(buffer, length) };
    const socket = secure
      ? tls.connect({ host, port, localAddress, servername: "localhost", rejectUnauthorized: false, onread })
      : net.connect({ host, port, localAddress, noDelay: true, onread });
    if (secure) socket.setNoDelay(true);
    const fail = (error) => {
      clearTimeout(timer);
      onBytes = () => {};
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`handshake timeout after ${timeoutMs} ms`)), timeoutMs);
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("closed during handshake")));
    socket.once(secure ? "secureConnect" : "connect", () => socket.write(buildHandshakeRequest(host, port, path)));
  });
}

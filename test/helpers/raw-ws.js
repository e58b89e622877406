import { randomBytes } from "node:crypto";
import net from "node:net";
import { TIMEOUT_FACTOR } from "./fleet.js";

export const OP = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

/** One client frame, masked as RFC 6455 §5.3 requires (or not, to test the server's answer to that). */
export function frame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0 } = {}) {
  const length = payload.length;
  const header = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 65536) header.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    header.push(maskBit | 127, 0, 0, 0, 0);
    header.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  if (!mask) return Buffer.concat([Buffer.from(header), payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let index = 0; index < masked.length; index += 1) masked[index] ^= key[index & 3];
  return Buffer.concat([Buffer.from(header), key, masked]);
}

/** Parses the server's (unmasked) frames out of `buffer`; returns the frames and the unparsed rest. */
function parseFrames(buffer) {
  const frames = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    const first = buffer[offset];
    let length = buffer[offset + 1] & 0x7f;
    let headerLength = 2;
    if (length === 126) {
      if (buffer.length - offset < 4) break;
      length = buffer.readUInt16BE(offset + 2);
      headerLength = 4;
    } else if (length === 127) {
      if (buffer.length - offset < 10) break;
      length = Number(buffer.readBigUInt64BE(offset + 2));
      headerLength = 10;
    }
    if (buffer.length - offset < headerLength + length) break;
    const payload = buffer.subarray(offset + headerLength, offset + headerLength + length);
    frames.push({ fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload });
    offset += headerLength + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/**
 * A WebSocket client on a raw TCP socket: it can send any bytes, valid or not, and reports every frame the server
 * sends and whether (and how) the TCP connection ended.
 */
export async function rawConnect(port, host = "127.0.0.1", path = "/") {
  const socket = net.connect({ port, host });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const key = randomBytes(16).toString("base64");
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let buffer = Buffer.alloc(0);
  let handshakeDone = false;
  const frames = [];
  const waiters = new Set();
  let ended = false;
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  let resolveHandshake;
  let rejectHandshake;
  const handshake = new Promise((resolve, reject) => {
    resolveHandshake = resolve;
    rejectHandshake = reject;
  });
  socket.on("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!handshakeDone) {
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString();
      buffer = buffer.subarray(end + 4);
      handshakeDone = true;
      if (!head.startsWith("HTTP/1.1 101")) rejectHandshake(new Error(head.split("\r\n")[0]));
      else resolveHandshake();
    }
    const parsed = parseFrames(buffer);
    buffer = parsed.rest;
    frames.push(...parsed.frames);
    notify();
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    ended = true;
    rejectHandshake(new Error("closed before the handshake"));
    notify();
  });
  await handshake;

  const until = (condition, timeoutMs) =>
    new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        resolve(false);
      }, timeoutMs * TIMEOUT_FACTOR);
      waiters.add(check);
      check();
    });

  return {
    socket,
    frames,
    send: (bytes) => socket.write(bytes),
    /** Waits for the next data frame (text/binary/continuation) after `from`; returns it or undefined. */
    async nextFrame(from, timeoutMs = 5000) {
      await until(() => frames.length > from || ended, timeoutMs);
      return frames[from];
    },
    /**
     * Waits until the server sends a close frame or drops the connection; returns { code, reason } from the close
     * frame, or { code: undefined, dropped: true } when the TCP connection ended without one.
     */
    async closeResult(timeoutMs = 5000) {
      await until(() => frames.some((each) => each.opcode === OP.CLOSE) || ended, timeoutMs);
      const close = frames.find((each) => each.opcode === OP.CLOSE);
      if (close) {
        return {
          code: close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005,
          reason: close.payload.subarray(2).toString(),
        };
      }
      return { code: undefined, dropped: ended };
    },
    destroy: () => socket.destroy(),
  };
}

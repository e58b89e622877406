/**
 * The WebSocket framing the load generator needs, and no more (RFC 6455 section 5): client frames are built once,
 * masked, before the run; server frames are counted by a streaming reader that never copies a payload.
 */
import { randomBytes } from "node:crypto";

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** The header of a frame with `length` payload bytes, without the mask key: 2, 4 or 10 bytes (RFC 6455 5.2). */
export function headerBytesFor(length) {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/**
 * One masked client frame with FIN set. The mask key is drawn once per run, not per frame: RFC 6455 5.3 wants an
 * unpredictable key per frame to protect intermediaries, which a loopback benchmark does not need, and servers
 * do not check it.
 */
export function buildMaskedFrame(opcode, payload, maskKey = randomBytes(4)) {
  const length = payload.length;
  const headerBytes = headerBytesFor(length);
  const frame = Buffer.allocUnsafe(headerBytes + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  maskKey.copy(frame, headerBytes);
  const body = headerBytes + 4;
  for (let i = 0; i < length; i += 1) frame[body + i] = payload[i] ^ maskKey[i & 3];
  return frame;
}

/** The payload of every echo message: printable ASCII so it is valid UTF-8 for text frames. */
export function buildPayload(sizeBytes) {
  const payload = Buffer.allocUnsafe(sizeBytes);
  for (let i = 0; i < sizeBytes; i += 1) payload[i] = 0x61 + (i % 26);
  return payload;
}

/** `count` copies of a frame back to back, so n echoes are answered with one write of a subarray. */
export function repeatFrame(frame, count) {
  const out = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i += 1) frame.copy(out, i * frame.length);
  return out;
}

const HEADER_MAX_BYTES = 14;

/**
 * Streaming reader of server-to-client frames. It tracks only the header and how many payload bytes are left,
 * so a chunk holding many small frames is scanned without allocation, and a large frame is skipped over.
 * `feed` returns the number of complete data messages (FIN frames of text, binary or continuation) in the chunk.
 * Control frames' payloads (at most 125 bytes) are kept, and handed to `onControl(opcode, payload)`.
 */
export class FrameReader {
  constructor(onControl) {
    this.onControl = onControl;
    this.header = Buffer.alloc(HEADER_MAX_BYTES);
    this.headerHave = 0;
    this.payloadLeft = 0;
    this.inPayload = false;
    this.fin = false;
    this.opcode = 0;
    this.control = null;
    this.controlHave = 0;
    this.messageBytes = 0;
  }

  /** Scans chunk[0, length) (length defaults to the whole chunk). */
  feed(chunk, length = chunk.length) {
    let messages = 0;
    let offset = 0;
    const end = length;
    while (offset < end) {
      if (this.inPayload) {
        const take = Math.min(this.payloadLeft, end - offset);
        if (this.control !== null) {
          chunk.copy(this.control, this.controlHave, offset, offset + take);
          this.controlHave += take;
        }
        offset += take;
        this.payloadLeft -= take;
        if (this.payloadLeft === 0) messages += this.finishFrame();
        continue;
      }
      // Fast path: a whole small header in this chunk.
      if (this.headerHave === 0 && end - offset >= 2) {
        const b1 = chunk[offset + 1] & 0x7f;
        if (b1 < 126) {
          this.startFrame(chunk[offset], b1);
          offset += 2;
          if (this.payloadLeft === 0) messages += this.finishFrame();
          continue;
        }
      }
      this.header[this.headerHave] = chunk[offset];
      this.headerHave += 1;
      offset += 1;
      if (this.headerHave < 2) continue;
      const len7 = this.header[1] & 0x7f;
      const need = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
      if (this.headerHave < need) continue;
      const length =
        len7 < 126
          ? len7
          : len7 === 126
            ? this.header.readUInt16BE(2)
            : this.header.readUInt32BE(2) * 2 ** 32 + this.header.readUInt32BE(6);
      this.headerHave = 0;
      this.startFrame(this.header[0], length);
      if (this.payloadLeft === 0) messages += this.finishFrame();
    }
    return messages;
  }

  startFrame(byte0, length) {
    this.fin = (byte0 & 0x80) !== 0;
    this.opcode = byte0 & 0x0f;
    this.payloadLeft = length;
    this.inPayload = length > 0;
    if (this.opcode >= OPCODE_CLOSE) {
      this.control = Buffer.allocUnsafe(length);
      this.controlHave = 0;
    } else {
      this.control = null;
      this.messageBytes += length;
    }
  }

  /** Returns 1 when the frame just finished completes a data message. */
  finishFrame() {
    this.inPayload = false;
    if (this.control !== null) {
      const payload = this.control;
      this.control = null;
      this.onControl(this.opcode, payload);
      return 0;
    }
    return this.fin ? 1 : 0;
  }
}

/** The opening handshake request (RFC 6455 4.1) for a fixed key; the reply is checked only for its status 101. */
export function buildHandshakeRequest(host, port, path = "/") {
  const key = randomBytes(16).toString("base64");
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
}

/** A masked close frame with status 1000 (normal closure). */
export function buildCloseFrame() {
  const code = Buffer.alloc(2);
  code.writeUInt16BE(1000, 0);
  return buildMaskedFrame(OPCODE_CLOSE, code);
}

/**
 * A frame reader for small server frames that hands each text/binary payload to `onData(buffer, start, end)` and
 * each control frame to `onControl(opcode, payload)`; a partial frame waits for the next chunk.
 */
export function frameParser(onData, onControl) {
  let rest = null;
  return (chunk, length) => {
    let buffer = chunk.subarray(0, length);
    if (rest) {
      buffer = Buffer.concat([rest, buffer]);
      rest = null;
    }
    let offset = 0;
    while (buffer.length - offset >= 2) {
      const opcode = buffer[offset] & 0x0f;
      const len7 = buffer[offset + 1] & 0x7f;
      const headerBytes = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
      if (buffer.length - offset < headerBytes) break;
      const payloadBytes =
        len7 < 126 ? len7 : len7 === 126 ? buffer.readUInt16BE(offset + 2) : buffer.readUInt32BE(offset + 6);
      const start = offset + headerBytes;
      const end = start + payloadBytes;
      if (end > buffer.length) break;
      if (opcode >= OPCODE_CLOSE) onControl(opcode, Buffer.from(buffer.subarray(start, end)));
      else onData(buffer, start, end);
      offset = end;
    }
    if (offset < buffer.length) rest = Buffer.from(buffer.subarray(offset));
  };
}

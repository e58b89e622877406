/**
 * The bodies of `--history`'s bus frames (kinds in bus-frames.ts' HISTORY), written and read by the hub and the worker:
 *
 *     position   u8 epoch length, epoch (ASCII), f64 BE offset
 *     MESSAGE    position, payload
 *     PUBLISHED  position
 *     RECOVER    u32 BE id, u8 mode (0: subscribe, no since; 1: subscribe after since; 2: read after since; 3: read
 *                all), position (since; epoch "" and offset NaN when there is none or it was malformed),
 *                u32 BE limit (0: none)
 *     RECOVERED  u32 BE id, u8 recovered (0/1), position (where the topic is), u32 BE count, then each message:
 *                f64 BE offset, u8 binary, u32 BE length, payload
 *
 * An offset is a whole number below 2^53 (a double holds it exactly); an epoch at most 255 bytes.
 */
import { encodeFrame, HISTORY } from "./bus-frames.js";

export interface Position {
  readonly epoch: string;
  readonly offset: number;
}

interface HistoryMessage {
  readonly offset: number;
  readonly payload: Uint8Array;
  readonly isBinary: boolean;
}

export const RECOVER_MODE = { LIVE: 0, SINCE: 1, READ_SINCE: 2, READ_ALL: 3 } as const;

const MAX_EPOCH_BYTES = 255;

function positionBytes(position: Position): number {
  return 1 + Math.min(Buffer.byteLength(position.epoch), MAX_EPOCH_BYTES) + 8;
}

function writePosition(target: Buffer, at: number, position: Position): number {
  const epoch = Buffer.from(position.epoch).subarray(0, MAX_EPOCH_BYTES);
  target[at] = epoch.length;
  target.set(epoch, at + 1);
  target.writeDoubleBE(position.offset, at + 1 + epoch.length);
  return at + 1 + epoch.length + 8;
}

function view(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function readPosition(body: Buffer, at: number): { position: Position; next: number } {
  const length = body[at] ?? 0;
  const epoch = body.toString("latin1", at + 1, at + 1 + length);
  return { position: { epoch, offset: body.readDoubleBE(at + 1 + length) }, next: at + 1 + length + 8 };
}

/** Hub → workers: one sequenced publish, the same bytes for every worker serving the topic. */
export function encodeMessage(topic: Uint8Array, position: Position, payload: Uint8Array, isBinary: boolean): Buffer {
  const body = Buffer.allocUnsafe(positionBytes(position) + payload.byteLength);
  body.set(payload, writePosition(body, 0, position));
  return encodeFrame(topic, body, isBinary, HISTORY.MESSAGE);
}

export function decodeMessage(body: Uint8Array): { position: Position; payload: Buffer } {
  const bytes = view(body);
  const { position, next } = readPosition(bytes, 0);
  return { position, payload: bytes.subarray(next) };
}

/** Hub → the publisher: where its publish went. */
export function encodePublished(topic: Uint8Array, position: Position): Buffer {
  const body = Buffer.allocUnsafe(positionBytes(position));
  writePosition(body, 0, position);
  return encodeFrame(topic, body, false, HISTORY.PUBLISHED);
}

export function decodePosition(body: Uint8Array): Position {
  return readPosition(view(body), 0).position;
}

export interface RecoverRequest {
  readonly id: number;
  readonly mode: number;
  readonly since: Position;
  readonly limit: number;
}

const NO_SINCE: Position = { epoch: "", offset: Number.NaN };

export function encodeRecover(topic: string, id: number, mode: number, since: Position | undefined, limit = 0): Buffer {
  const position = since ?? NO_SINCE;
  const body = Buffer.allocUnsafe(5 + positionBytes(position) + 4);
  body.writeUInt32BE(id, 0);
  body[4] = mode;
  body.writeUInt32BE(limit, writePosition(body, 5, position));
  return encodeFrame(topic, body, false, HISTORY.RECOVER);
}

export function decodeRecover(body: Uint8Array): RecoverRequest {
  const bytes = view(body);
  const { position, next } = readPosition(bytes, 5);
  return { id: bytes.readUInt32BE(0), mode: bytes[4] ?? 0, since: position, limit: bytes.readUInt32BE(next) };
}

export interface RecoverAnswer {
  readonly id: number;
  readonly recovered: boolean;
  readonly position: Position;
  readonly messages: readonly HistoryMessage[];
}

export function encodeRecovered(topic: Uint8Array, answer: RecoverAnswer): Buffer {
  let size = 4 + 1 + positionBytes(answer.position) + 4;
  for (const message of answer.messages) size += 8 + 1 + 4 + message.payload.byteLength;
  const body = Buffer.allocUnsafe(size);
  body.writeUInt32BE(answer.id, 0);
  body[4] = answer.recovered ? 1 : 0;
  let at = writePosition(body, 5, answer.position);
  at = body.writeUInt32BE(answer.messages.length, at);
  for (const message of answer.messages) {
    at = body.writeDoubleBE(message.offset, at);
    body[at] = message.isBinary ? 1 : 0;
    at = body.writeUInt32BE(message.payload.byteLength, at + 1);
    body.set(message.payload, at);
    at += message.payload.byteLength;
  }
  return encodeFrame(topic, body, false, HISTORY.RECOVERED);
}

/** The messages are views into `body`, valid while it is. */
export function decodeRecovered(body: Uint8Array): RecoverAnswer {
  const bytes = view(body);
  const id = bytes.readUInt32BE(0);
  const recovered = bytes[4] === 1;
  const { position, next } = readPosition(bytes, 5);
  const count = bytes.readUInt32BE(next);
  const messages: HistoryMessage[] = [];
  let at = next + 4;
  for (let i = 0; i < count; i += 1) {
    const offset = bytes.readDoubleBE(at);
    const isBinary = bytes[at + 8] === 1;
    const length = bytes.readUInt32BE(at + 9);
    messages.push({ offset, isBinary, payload: bytes.subarray(at + 13, at + 13 + length) });
    at += 13 + length;
  }
  return { id, recovered, position, messages };
}

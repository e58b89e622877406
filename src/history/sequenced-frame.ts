import { encodeFrame, frameBody, frameIsBinary, frameKind, frameTopicKey } from "../protocol/bus-frames.js";
import type { StreamPosition } from "./store.js";

/**
 * A sequenced publish as the Redis store's Lua script PUBLISHes it, after the broker's 8-byte origin: one bus frame
 * (protocol/bus-frames.ts) of kind SEQUENCED_KIND whose body is
 *
 *     u8      epoch length
 *     epoch   ASCII
 *     f64 BE  offset (a whole number below 2^53)
 *     payload the message, as the app gave it
 *
 * the same bytes as i21's HISTORY.MESSAGE (`encodeMessage` in protocol/history-frames.ts), so the hub can forward what
 * Redis delivers as it forwards its own sequenced messages. The script writes it with `struct.pack`; this file is the
 * reference the tests hold it to, and what a reader of the broker's messages uses.
 */
export const SEQUENCED_KIND = 9;

/** The frame's header and topic with an empty body: the script appends the body and rewrites the length. */
export function sequencedHead(topic: Uint8Array, isBinary: boolean): Buffer {
  return encodeFrame(topic, "", isBinary, SEQUENCED_KIND);
}

export function encodeSequenced(topic: Uint8Array, position: StreamPosition, payload: Uint8Array, isBinary: boolean) {
  const epoch = Buffer.from(position.epoch, "latin1");
  const body = Buffer.allocUnsafe(1 + epoch.length + 8 + payload.byteLength);
  body[0] = epoch.length;
  body.set(epoch, 1);
  body.writeDoubleBE(position.offset, 1 + epoch.length);
  body.set(payload, 1 + epoch.length + 8);
  return encodeFrame(topic, body, isBinary, SEQUENCED_KIND);
}

export interface SequencedMessage {
  /** As the hub keys topics: latin1, one char per byte. */
  readonly topicKey: string;
  readonly position: StreamPosition;
  readonly payload: Buffer;
  readonly isBinary: boolean;
}

/** Reads the one frame at the start of `frame` (its payload a view into it), or undefined when it is not sequenced. */
export function decodeSequenced(frame: Buffer): SequencedMessage | undefined {
  if (frame.length < 7 || frameKind(frame) !== SEQUENCED_KIND) return undefined;
  // The u32 length field counts the rest of the frame.
  const body = frameBody(frame, 0, 4 + frame.readUInt32BE(0));
  const offsetAt = 1 + (body[0] ?? 0);
  return {
    topicKey: frameTopicKey(frame),
    position: { epoch: body.toString("latin1", 1, offsetAt), offset: body.readDoubleBE(offsetAt) },
    payload: body.subarray(offsetAt + 8),
    isBinary: frameIsBinary(frame),
  };
}

/**
 * The fleet bus's wire format, shared by the worker (which writes and reads frames) and the primary's hub (which only
 * finds their boundaries and forwards the bytes untouched). One frame is one `fleet.publish`:
 *
 *     u32 BE  length of the rest of the frame
 *     u8      flags: bit 0 = binary
 *     u16 BE  topic length in bytes
 *     topic   UTF-8 (or the bytes the app gave)
 *     payload the message, as the app gave it
 *
 * Binary and length-prefixed so nobody parses JSON or copies a payload to route it: the hub reads the length and the
 * topic of each frame, never the payload.
 *
 * The flags' upper seven bits are the frame's kind: 0 for a publish, else one of the ROUTE_* routing notices (empty
 * payload): the worker tells the hub which topics it serves, the hub tells the worker which topics are wanted
 * elsewhere, and each side acknowledges what closes a race (docs/publish.md, "Topic routing").
 */
const LENGTH_BYTES = 4;
const HEADER_BYTES = LENGTH_BYTES + 1 + 2;
const FLAG_BINARY = 1;
const KIND_SHIFT = 1;
/** The routing notices' kinds. */
export const ROUTE = {
  /** Worker → hub: this worker has a subscriber to the topic now (uWebSockets.js' count went 0 → 1). */
  SERVE: 1,
  /** Worker → hub: it has none any more (1 → 0, by unsubscribe or close). */
  UNSERVE: 2,
  /** Hub → worker: another worker (or, with a broker, another host) serves the topic: send its publishes to the hub. */
  WANTED: 3,
  /** Hub → worker: nobody else serves it any more: keep its publishes in this worker. */
  UNWANTED: 4,
  /** Hub → worker: send every publish to the hub, whatever its topic (a broker is connected: other hosts may serve it). */
  WANT_ALL: 5,
  /** Hub → worker, after a SERVE: every publish of the topic routed to this worker from here on came after it. */
  SERVED: 6,
  /** Worker → hub, after an UNWANTED: this worker's publishes of the topic that follow are not stale. */
  UNWANTED_SEEN: 7,
} as const;
/**
 * `--history`'s frames (src/protocol/history-frames.ts has their bodies): kinds after ROUTE's, never one of its values.
 * With history on, a publish goes to the hub as PUBLISH and comes back to every serving worker (its own too) as
 * MESSAGE with the topic's epoch and the offset the hub's sequencer gave it.
 */
export const HISTORY = {
  /** Worker → hub: a publish to sequence (body: the payload). */
  PUBLISH: 8,
  /** Hub → worker: a sequenced publish (body: epoch, offset, payload). */
  MESSAGE: 9,
  /** Hub → the publishing worker, in publish order: the position its publish got (body: epoch, offset). */
  PUBLISHED: 10,
  /** Worker → hub: "the messages after this position", by request id; the hub serves the topic to it first. */
  RECOVER: 11,
  /** Hub → worker: the answer to a RECOVER, in the same stream as the topic's live MESSAGEs (a seam, no gap). */
  RECOVERED: 12,
} as const;
/** Larger than any message a worker accepts (--max-payload is at most 2 GiB - 1): a longer length is corruption. */
const MAX_FRAME_BYTES = 2 ** 31;
const MAX_TOPIC_BYTES = 0xffff;

type BusMessage = string | ArrayBuffer | Uint8Array;

function asBytes(message: BusMessage): Uint8Array {
  if (typeof message === "string") return Buffer.from(message);
  return message instanceof ArrayBuffer ? new Uint8Array(message) : message;
}

/** One frame; copies the message, so an ArrayBuffer that uWebSockets.js neuters after the hook is safe. */
export function encodeFrame(topic: string | Uint8Array, message: BusMessage, isBinary: boolean, kind = 0): Buffer {
  const topicBytes = typeof topic === "string" ? Buffer.byteLength(topic) : topic.byteLength;
  if (topicBytes > MAX_TOPIC_BYTES) throw new RangeError(`a topic is at most ${MAX_TOPIC_BYTES} bytes`);
  const payload = asBytes(message);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + topicBytes + payload.byteLength);
  frame.writeUInt32BE(frame.length - LENGTH_BYTES, 0);
  frame[LENGTH_BYTES] = (isBinary ? FLAG_BINARY : 0) | (kind << KIND_SHIFT);
  frame.writeUInt16BE(topicBytes, LENGTH_BYTES + 1);
  if (typeof topic === "string") frame.write(topic, HEADER_BYTES, "utf8");
  else frame.set(topic, HEADER_BYTES);
  frame.set(payload, HEADER_BYTES + topicBytes);
  return frame;
}

/** A routing notice: one of the ROUTE_* kinds for `topic` (the topic's bytes as uWebSockets.js gave them). */
export function encodeNotice(kind: number, topic: string | Uint8Array | ArrayBuffer): Buffer {
  return encodeFrame(topic instanceof ArrayBuffer ? new Uint8Array(topic) : topic, "", false, kind);
}

/** Whole frames cut from a byte stream: `bytes` holds `count` complete frames, back to back. */
export interface FrameRun {
  bytes: Buffer;
  count: number;
}

/**
 * Cuts a stream into runs of whole frames, keeping a partial frame for the next chunk. Reads only the length fields,
 * so the hub forwards a run with one write per peer whatever it holds.
 */
export class FrameSplitter {
  private pending: Buffer | undefined;

  /** `chunksReused`: the reader reuses one buffer for every chunk, so a partial frame kept for later is copied. */
  constructor(private readonly chunksReused = false) {}

  /** The whole frames now available (possibly none); throws on a length no writer could have produced. */
  push(chunk: Buffer): FrameRun {
    const buffer = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    let count = 0;
    while (buffer.length - offset >= LENGTH_BYTES) {
      const length = buffer.readUInt32BE(offset);
      if (length < HEADER_BYTES - LENGTH_BYTES || length > MAX_FRAME_BYTES) {
        throw new Error(`bus frame of ${length} bytes: the stream is corrupt`);
      }
      if (buffer.length - offset - LENGTH_BYTES < length) break;
      offset += LENGTH_BYTES + length;
      count += 1;
    }
    const rest = offset === buffer.length ? undefined : buffer.subarray(offset);
    this.pending = rest && this.chunksReused && buffer === chunk ? Buffer.from(rest) : rest;
    return { bytes: buffer.subarray(0, offset), count };
  }
}

/**
 * Calls `deliver` for each publish of a run, and `notice` (when given) for each routing notice; topic and payload are
 * views into `run`, valid during the call.
 */
export function forEachFrame(
  run: Buffer,
  deliver: (topic: Uint8Array, payload: Uint8Array, isBinary: boolean) => void,
  notice?: (kind: number, topic: Uint8Array, body: Uint8Array, isBinary: boolean) => void,
): void {
  let offset = 0;
  while (offset < run.length) {
    const end = offset + LENGTH_BYTES + run.readUInt32BE(offset);
    const topicLength = run.readUInt16BE(offset + LENGTH_BYTES + 1);
    const topicStart = offset + HEADER_BYTES;
    const flags = run[offset + LENGTH_BYTES] ?? 0;
    const topic = run.subarray(topicStart, topicStart + topicLength);
    const body = run.subarray(topicStart + topicLength, end);
    if (flags >> KIND_SHIFT !== 0) notice?.(flags >> KIND_SHIFT, topic, body, (flags & FLAG_BINARY) !== 0);
    else deliver(topic, body, (flags & FLAG_BINARY) !== 0);
    offset = end;
  }
}

/**
 * The hub's walk over a run: for each frame its bounds, its routing kind (0 for a publish) and its topic as a key
 * (latin1, so any bytes map one to one to a string and nothing is decoded as UTF-8).
 */
export function scanFrames(run: Buffer, visit: (start: number, end: number, kind: number, topicKey: string) => void) {
  let offset = 0;
  while (offset < run.length) {
    const end = offset + LENGTH_BYTES + run.readUInt32BE(offset);
    const topicStart = offset + HEADER_BYTES;
    const topicKey = run.toString("latin1", topicStart, topicStart + run.readUInt16BE(offset + LENGTH_BYTES + 1));
    visit(offset, end, (run[offset + LENGTH_BYTES] ?? 0) >> KIND_SHIFT, topicKey);
    offset = end;
  }
}

/** Whether the frame starting at `start` is flagged binary. */
export function frameIsBinary(bytes: Buffer, start = 0): boolean {
  return ((bytes[start + LENGTH_BYTES] ?? 0) & FLAG_BINARY) !== 0;
}

/** The body (payload) of the frame from `start` to `end`, as a view. */
export function frameBody(bytes: Buffer, start: number, end: number): Buffer {
  return bytes.subarray(start + HEADER_BYTES + bytes.readUInt16BE(start + LENGTH_BYTES + 1), end);
}

/** The kind of the frame starting at `start` (0: a publish). */
export function frameKind(bytes: Buffer, start = 0): number {
  return (bytes[start + LENGTH_BYTES] ?? 0) >> KIND_SHIFT;
}

/** The topic of the frame starting at `start` in `bytes`, as scanFrames' key. */
export function frameTopicKey(bytes: Buffer, start = 0): string {
  const topicStart = start + HEADER_BYTES;
  return bytes.toString("latin1", topicStart, topicStart + bytes.readUInt16BE(start + LENGTH_BYTES + 1));
}

/** How many frames a run of whole frames holds (the broker counts messages, not Redis commands). */
export function countFrames(run: Buffer): number {
  let count = 0;
  for (let offset = 0; offset + LENGTH_BYTES <= run.length; offset += LENGTH_BYTES + run.readUInt32BE(offset)) {
    count += 1;
  }
  return count;
}

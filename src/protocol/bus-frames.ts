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
 * Binary and length-prefixed so nobody parses JSON or copies a payload to route it: the hub reads one u32 per frame.
 */
const LENGTH_BYTES = 4;
const HEADER_BYTES = LENGTH_BYTES + 1 + 2;
const FLAG_BINARY = 1;
/** Larger than any message a worker accepts (--max-payload is at most 2 GiB - 1): a longer length is corruption. */
const MAX_FRAME_BYTES = 2 ** 31;
const MAX_TOPIC_BYTES = 0xffff;

type BusMessage = string | ArrayBuffer | Uint8Array;

function asBytes(message: BusMessage): Uint8Array {
  if (typeof message === "string") return Buffer.from(message);
  return message instanceof ArrayBuffer ? new Uint8Array(message) : message;
}

/** One frame; copies the message, so an ArrayBuffer that uWebSockets.js neuters after the hook is safe. */
export function encodeFrame(topic: string, message: BusMessage, isBinary: boolean): Buffer {
  const topicBytes = Buffer.byteLength(topic);
  if (topicBytes > MAX_TOPIC_BYTES) throw new RangeError(`a topic is at most ${MAX_TOPIC_BYTES} bytes`);
  const payload = asBytes(message);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + topicBytes + payload.byteLength);
  frame.writeUInt32BE(frame.length - LENGTH_BYTES, 0);
  frame[LENGTH_BYTES] = isBinary ? FLAG_BINARY : 0;
  frame.writeUInt16BE(topicBytes, LENGTH_BYTES + 1);
  frame.write(topic, HEADER_BYTES, "utf8");
  frame.set(payload, HEADER_BYTES + topicBytes);
  return frame;
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
    this.pending = offset === buffer.length ? undefined : buffer.subarray(offset);
    return { bytes: buffer.subarray(0, offset), count };
  }
}

/** Calls `deliver` for each frame of a run; topic and payload are views into `run`, valid during the call. */
export function forEachFrame(
  run: Buffer,
  deliver: (topic: Uint8Array, payload: Uint8Array, isBinary: boolean) => void,
): void {
  let offset = 0;
  while (offset < run.length) {
    const end = offset + LENGTH_BYTES + run.readUInt32BE(offset);
    const topicLength = run.readUInt16BE(offset + LENGTH_BYTES + 1);
    const topicStart = offset + HEADER_BYTES;
    deliver(
      run.subarray(topicStart, topicStart + topicLength),
      run.subarray(topicStart + topicLength, end),
      ((run[offset + LENGTH_BYTES] ?? 0) & FLAG_BINARY) !== 0,
    );
    offset = end;
  }
}

/** How many frames a run of whole frames holds (the broker counts messages, not Redis commands). */
export function countFrames(run: Buffer): number {
  let count = 0;
  for (let offset = 0; offset + LENGTH_BYTES <= run.length; offset += LENGTH_BYTES + run.readUInt32BE(offset)) {
    count += 1;
  }
  return count;
}

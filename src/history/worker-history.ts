import { encodeFrame, HISTORY } from "../protocol/bus-frames.js";
import {
  decodeMessage,
  decodePosition,
  decodeRecovered,
  encodeRecover,
  RECOVER_MODE,
  type RecoverAnswer,
} from "../protocol/history-frames.js";
import { readSince, type SinceInput } from "./since.js";
import type { Recovery, StreamPosition } from "./store.js";

/** What a subscriber gets of one sequenced message: text (a string) or bytes with the message's binary flag. */
export type Envelope = (message: {
  topic: string;
  epoch: string;
  offset: number;
  payload: Buffer;
  isBinary: boolean;
}) => string | Uint8Array;

/** How the worker touches a connection and its own subscribers; uWebSockets.js in the worker, plain objects in tests. */
export interface SubscriberOps<W> {
  isOpen(ws: W): boolean;
  send(ws: W, data: string | Uint8Array, isBinary: boolean): void;
  subscribe(ws: W, topic: string): void;
  /** To this worker's subscribers of `topic` (uWebSockets.js' app.publish). */
  publishLocal(topic: Uint8Array, data: string | Uint8Array, isBinary: boolean): void;
  /** The topic is held served at the hub while a recovery is on the way (TopicInterest.hold / release). */
  hold(topicKey: string): void;
  release(topicKey: string): void;
}

export interface SubscribeOutcome {
  readonly recovered: boolean;
  readonly position: StreamPosition | undefined;
  readonly sent: number;
}

interface Waiter<W> {
  readonly ws: W;
  readonly beforeLive: ((result: SubscribeOutcome) => void) | undefined;
  readonly resolve: (result: SubscribeOutcome) => void;
}

interface Request<W> {
  readonly key: string;
  readonly topic: string;
  readonly mode: number;
  readonly waiters: Waiter<W>[];
  readonly readers: ((recovery: Recovery) => void)[];
}

/** Request ids wrap at 2^32 (the frame's u32); one connection never has that many in flight. */
const ID_LIMIT = 2 ** 32;

/**
 * The worker's side of --history. Publishes go to the hub as PUBLISH, and resolve when its PUBLISHED answers come
 * back, in order. A sequenced MESSAGE is made into what subscribers receive once (the app's envelope) and published to
 * this worker's subscribers. `subscribe(ws, topic, since)` asks the hub for the messages after `since`; identical
 * requests on the way share one (many clients reconnecting with the same position after a deploy). The answer comes
 * in the same stream as the topic's live messages, so at the moment it is read the recovered messages are sent and
 * `ws` subscribed: every later live message comes after, none was already in the answer.
 */
export class WorkerHistory<W> {
  private readonly publishes: ((position: StreamPosition | undefined) => void)[] = [];
  private readonly requests = new Map<number, Request<W>>();
  private readonly byKey = new Map<string, number>();
  private nextId = 1;
  /** Requests answered; counted for tests and status: how many waiters each served (coalescing). */
  readonly counts = { requests: 0, coalesced: 0 };

  constructor(
    private readonly send: (frame: Buffer) => boolean,
    private readonly ops: SubscriberOps<W>,
    private readonly envelope: Envelope | undefined,
  ) {}

  /** `fleet.publish` with --history: resolves with the position the sequencer gave, undefined when it was lost. */
  publish(
    topic: string,
    message: string | ArrayBuffer | Uint8Array,
    isBinary: boolean,
  ): Promise<StreamPosition | undefined> {
    if (!this.send(encodeFrame(topic, message, isBinary, HISTORY.PUBLISH))) return Promise.resolve(undefined);
    return new Promise((resolve) => this.publishes.push(resolve));
  }

  /** A frame of a history kind from the hub. */
  readonly frame = (kind: number, topic: Uint8Array, body: Uint8Array, isBinary: boolean): void => {
    if (kind === HISTORY.MESSAGE) this.message(topic, body, isBinary);
    else if (kind === HISTORY.PUBLISHED) this.publishes.shift()?.(decodePosition(body));
    else if (kind === HISTORY.RECOVERED) this.answered(topic, decodeRecovered(body));
  };

  subscribe(
    ws: W,
    topic: string,
    since: SinceInput | undefined,
    beforeLive?: (result: SubscribeOutcome) => void,
  ): Promise<SubscribeOutcome> {
    const read = readSince(since);
    const mode = read.kind === "none" ? RECOVER_MODE.LIVE : RECOVER_MODE.SINCE;
    const position = read.kind === "position" ? read.position : undefined;
    return new Promise((resolve) => {
      const request = this.request(
        topic,
        mode,
        read.kind === "malformed" ? { epoch: "", offset: Number.NaN } : position,
        0,
      );
      if (!request) {
        // The hub is unreachable: nothing to recover from; subscribed anyway, so the topic is served again (and its
        // live messages arrive) once the bus reconnects.
        const result = { recovered: false, position: undefined, sent: 0 };
        beforeLive?.(result);
        if (this.ops.isOpen(ws)) this.ops.subscribe(ws, topic);
        resolve(result);
        return;
      }
      request.waiters.push({ ws, beforeLive, resolve });
    });
  }

  /** `fleet.history`: the stored messages after `since` (all without it), at most `limit`. */
  history(topic: string, options: { since?: SinceInput; limit?: number } = {}): Promise<Recovery> {
    const read = readSince(options.since);
    const mode = read.kind === "none" ? RECOVER_MODE.READ_ALL : RECOVER_MODE.READ_SINCE;
    const since = read.kind === "position" ? read.position : { epoch: "", offset: Number.NaN };
    const limit = Math.max(0, Math.min(ID_LIMIT - 1, Math.floor(options.limit ?? 0)));
    return new Promise((resolve, reject) => {
      const request = this.request(topic, mode, mode === RECOVER_MODE.READ_ALL ? undefined : since, limit);
      if (!request) reject(new Error("the fleet bus is unreachable: no history can be read"));
      else request.readers.push(resolve);
    });
  }

  /** The hub connection was lost: what was on the way is lost with it (at most once). */
  lost(): void {
    for (const resolve of this.publishes.splice(0)) resolve(undefined);
  }

  private request(
    topic: string,
    mode: number,
    since: StreamPosition | undefined,
    limit: number,
  ): Request<W> | undefined {
    const key = `${mode}\u0000${limit}\u0000${since?.epoch ?? ""}\u0000${since?.offset ?? ""}\u0000${topic}`;
    const existing = this.byKey.get(key);
    if (existing !== undefined) {
      this.counts.coalesced += 1;
      return this.requests.get(existing);
    }
    const id = this.nextId;
    this.nextId = (this.nextId % (ID_LIMIT - 1)) + 1;
    const subscribes = mode === RECOVER_MODE.LIVE || mode === RECOVER_MODE.SINCE;
    const topicKey = Buffer.from(topic).toString("latin1");
    // Before the RECOVER leaves: the topic stays served at the hub until the answer is read (no UNSERVE between).
    if (subscribes) this.ops.hold(topicKey);
    if (!this.send(encodeRecover(topic, id, mode, since, limit))) {
      if (subscribes) this.ops.release(topicKey);
      return undefined;
    }
    const request: Request<W> = { key, topic, mode, waiters: [], readers: [] };
    this.requests.set(id, request);
    this.byKey.set(key, id);
    this.counts.requests += 1;
    return request;
  }

  private message(topic: Uint8Array, body: Uint8Array, isBinary: boolean): void {
    const { position, payload } = decodeMessage(body);
    if (!this.envelope) {
      this.ops.publishLocal(topic, payload, isBinary);
      return;
    }
    const topicName = Buffer.from(topic.buffer, topic.byteOffset, topic.byteLength).toString();
    const data = this.envelope({ topic: topicName, epoch: position.epoch, offset: position.offset, payload, isBinary });
    this.ops.publishLocal(topic, data, typeof data === "string" ? false : isBinary);
  }

  private answered(topicBytes: Uint8Array, answer: RecoverAnswer): void {
    const request = this.requests.get(answer.id);
    if (!request) return;
    this.requests.delete(answer.id);
    this.byKey.delete(request.key);
    if (request.mode === RECOVER_MODE.READ_ALL || request.mode === RECOVER_MODE.READ_SINCE) {
      const recovery: Recovery = answer.recovered
        ? {
            recovered: true,
            position: answer.position,
            messages: answer.messages.map((m) => ({
              offset: m.offset,
              isBinary: m.isBinary,
              payload: Buffer.from(m.payload),
            })),
          }
        : { recovered: false, position: answer.position };
      for (const resolve of request.readers) resolve(recovery);
      return;
    }
    // Made once for every waiter: the envelope of each recovered message.
    const frames = answer.messages.map((m) => {
      const data = this.envelope
        ? this.envelope({
            topic: request.topic,
            epoch: answer.position.epoch,
            offset: m.offset,
            payload: Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength),
            isBinary: m.isBinary,
          })
        : m.payload;
      return { data, isBinary: typeof data === "string" ? false : m.isBinary };
    });
    const result: SubscribeOutcome = { recovered: answer.recovered, position: answer.position, sent: frames.length };
    for (const waiter of request.waiters) {
      // A client that left while its recovery was on the way is skipped; uWebSockets.js would throw on its socket.
      if (!this.ops.isOpen(waiter.ws)) continue;
      for (const frame of frames) this.ops.send(waiter.ws, frame.data, frame.isBinary);
      waiter.beforeLive?.(result);
      if (this.ops.isOpen(waiter.ws)) this.ops.subscribe(waiter.ws, request.topic);
    }
    this.ops.release(Buffer.from(topicBytes.buffer, topicBytes.byteOffset, topicBytes.byteLength).toString("latin1"));
    for (const waiter of request.waiters) waiter.resolve(result);
  }
}

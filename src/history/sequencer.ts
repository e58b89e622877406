import type { HistoryStatus } from "../protocol/control.js";
import {
  decodeRecover,
  encodeMessage,
  encodePublished,
  encodeRecovered,
  RECOVER_MODE,
  type RecoverRequest,
} from "../protocol/history-frames.js";
import { MemoryStore } from "./memory-store.js";
import type { Recovery, StreamPosition } from "./store.js";

/** What a sequenced publish becomes: the frame for every worker serving the topic, and the publisher's answer. */
export interface Sequenced {
  readonly message: Buffer;
  readonly published: Buffer;
}

/**
 * The embedded sequencer, in the primary's hub: a worker's PUBLISH gets its topic's next offset and is stored, and
 * becomes one MESSAGE frame (the same bytes for every worker serving the topic) and a PUBLISHED answer for the worker
 * that published; a RECOVER is answered from the store. The router decides where the frames go.
 */
export class Sequencer {
  private readonly counts = { sequenced: 0, recovered: 0, notRecovered: 0, expired: 0 };

  constructor(private readonly store: MemoryStore) {}

  publish(topic: Buffer, topicKey: string, payload: Buffer, isBinary: boolean): Sequenced {
    const { message, position } = this.sequence(topic, topicKey, payload, isBinary);
    return { message, published: encodePublished(topic, position) };
  }

  /** The publish's offset and its MESSAGE frame. */
  sequence(topic: Buffer, topicKey: string, payload: Buffer, isBinary: boolean) {
    // The frame's bytes are a view of what the socket read: the store keeps its own copy.
    const position = this.store.append(topicKey, Buffer.from(payload), isBinary);
    this.counts.sequenced += 1;
    return { message: encodeMessage(topic, position, payload, isBinary), position };
  }

  /** The answer to a RECOVER frame's body; whether it asks to be served the topic too. */
  recover(topic: Buffer, topicKey: string, body: Uint8Array): { answer: Buffer; subscribes: boolean } {
    const request = decodeRecover(body);
    const recovery = this.answer(topicKey, request);
    if (recovery.recovered) this.counts.recovered += 1;
    else this.counts.notRecovered += 1;
    const answer = encodeAnswer(topic, request.id, recovery);
    return { answer, subscribes: request.mode === RECOVER_MODE.LIVE || request.mode === RECOVER_MODE.SINCE };
  }

  /** The fleet starts (true) or stops (false) serving a topic. */
  served(topicKey: string, serving: boolean): void {
    this.store.served(topicKey, serving);
  }

  /** --history-ttl: drops the idle topics nobody serves. */
  expire(): void {
    this.counts.expired += this.store.expire();
  }

  status(): HistoryStatus {
    return { ...this.store.sizes(), ...this.counts };
  }

  private answer(topicKey: string, request: RecoverRequest): Recovery {
    const limit = request.limit > 0 ? request.limit : undefined;
    if (request.mode === RECOVER_MODE.LIVE) {
      return { recovered: true, position: this.store.position(topicKey), messages: [] };
    }
    const since: StreamPosition = request.mode === RECOVER_MODE.READ_ALL ? this.store.start(topicKey) : request.since;
    return this.store.since(topicKey, since, limit);
  }
}

/** The RECOVERED frame answering request `id` with `recovery` (both sequencers answer with it). */
export function encodeAnswer(topic: Uint8Array, id: number, recovery: Recovery): Buffer {
  return encodeRecovered(topic, {
    id,
    recovered: recovery.recovered,
    position: recovery.position,
    messages: recovery.recovered ? recovery.messages : [],
  });
}

/** `--history <n>` / `--history-ttl <s>`: the hub's sequencer over a memory store; undefined when history is off. */
export function createSequencer(history: { size: number; ttlSecs: number } | undefined): Sequencer | undefined {
  return history ? new Sequencer(new MemoryStore(history.size, history.ttlSecs * 1000)) : undefined;
}

import { randomBytes } from "node:crypto";
import type { HistoryStore, Recovery, StoredMessage, StreamPosition } from "./store.js";

/** What the store is told of time, and how it makes epochs; injected so tests use a fake clock and fixed epochs. */
export interface MemoryStoreDeps {
  readonly nowMs: () => number;
  readonly newEpoch: () => string;
}

const DEFAULT_DEPS: MemoryStoreDeps = {
  nowMs: () => Date.now(),
  // 72 bits: two hub starts (or two lives of a topic) never share an epoch.
  newEpoch: () => randomBytes(9).toString("base64url"),
};

interface Topic {
  readonly epoch: string;
  /** The last offset given; 0 before the first publish. */
  offset: number;
  /**
   * The last `size` messages, a circular buffer: once full, `head` is the oldest and each append overwrites it, so a
   * publish costs the same whatever `size` is. Offsets offset - ring.length + 1 … offset.
   */
  readonly ring: StoredMessage[];
  head: number;
  bytes: number;
  lastActivityMs: number;
  /** Workers serving it now (the hub tells): a served topic never expires. */
  servedBy: number;
}

export interface HistorySize {
  topics: number;
  messages: number;
  bytes: number;
}

/** Whether `since` is a position this store could have given: a string epoch and a whole offset of 0 or more. */
function wellFormed(since: StreamPosition): boolean {
  return typeof since?.epoch === "string" && Number.isSafeInteger(since.offset) && since.offset >= 0;
}

/**
 * The embedded sequencer's store, in the primary's hub: per topic a ring of the last `size` messages, offsets from 1,
 * and an epoch made when the topic is (at hub start, or again after the TTL dropped it). Synchronous, so the hub
 * answers a publish and a recovery in the same tick as it reads them. Pure but for the injected clock and epochs.
 */
export class MemoryStore implements HistoryStore {
  private readonly topics = new Map<string, Topic>();
  private totalMessages = 0;
  private totalBytes = 0;

  constructor(
    private readonly size: number,
    private readonly ttlMs: number,
    private readonly deps: MemoryStoreDeps = DEFAULT_DEPS,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError("a history keeps at least 1 message");
  }

  append(topic: string, payload: Buffer, isBinary: boolean): StreamPosition {
    const entry = this.topic(topic);
    entry.offset += 1;
    const message = { offset: entry.offset, payload, isBinary };
    entry.bytes += payload.length;
    this.totalBytes += payload.length;
    if (entry.ring.length < this.size) {
      entry.ring.push(message);
      this.totalMessages += 1;
    } else {
      const dropped = entry.ring[entry.head] as StoredMessage;
      entry.bytes -= dropped.payload.length;
      this.totalBytes -= dropped.payload.length;
      entry.ring[entry.head] = message;
      entry.head = (entry.head + 1) % this.size;
    }
    return { epoch: entry.epoch, offset: entry.offset };
  }

  since(topic: string, since: StreamPosition, limit?: number): Recovery {
    const entry = this.topic(topic);
    const position = { epoch: entry.epoch, offset: entry.offset };
    if (!wellFormed(since) || since.epoch !== entry.epoch || since.offset > entry.offset) {
      return { recovered: false, position };
    }
    const oldest = entry.offset - entry.ring.length + 1;
    if (since.offset < oldest - 1) return { recovered: false, position };
    const from = since.offset + 1 - oldest;
    const to = limit !== undefined && limit > 0 ? Math.min(entry.ring.length, from + limit) : entry.ring.length;
    const messages: StoredMessage[] = [];
    for (let i = from; i < to; i += 1) messages.push(entry.ring[(entry.head + i) % entry.ring.length] as StoredMessage);
    const last = messages.at(-1);
    return { recovered: true, position: last ? { epoch: entry.epoch, offset: last.offset } : position, messages };
  }

  position(topic: string): StreamPosition {
    const entry = this.topic(topic);
    return { epoch: entry.epoch, offset: entry.offset };
  }

  /** The oldest stored offset minus one: `since` that reads the whole ring. */
  start(topic: string): StreamPosition {
    const entry = this.topic(topic);
    return { epoch: entry.epoch, offset: entry.offset - entry.ring.length };
  }

  /** A worker serves the topic (true) or stopped (false): a served topic is kept whatever its age. */
  served(topic: string, serving: boolean): void {
    const entry = this.topic(topic);
    entry.servedBy = Math.max(0, entry.servedBy + (serving ? 1 : -1));
  }

  /** Drops the topics nobody serves that had no publish and no subscriber for the TTL; returns how many. */
  expire(): number {
    const now = this.deps.nowMs();
    let expired = 0;
    for (const [name, entry] of this.topics) {
      if (entry.servedBy > 0 || now - entry.lastActivityMs < this.ttlMs) continue;
      this.topics.delete(name);
      this.totalMessages -= entry.ring.length;
      this.totalBytes -= entry.bytes;
      expired += 1;
    }
    return expired;
  }

  sizes(): HistorySize {
    return { topics: this.topics.size, messages: this.totalMessages, bytes: this.totalBytes };
  }

  /** The topic's entry, made with a new epoch when it has none; any use of a topic counts as activity. */
  private topic(name: string): Topic {
    const now = this.deps.nowMs();
    let entry = this.topics.get(name);
    if (!entry) {
      entry = { epoch: this.deps.newEpoch(), offset: 0, ring: [], head: 0, bytes: 0, lastActivityMs: now, servedBy: 0 };
      this.topics.set(name, entry);
    }
    entry.lastActivityMs = now;
    return entry;
  }
}

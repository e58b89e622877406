/**
 * Per-(origin, topic) sequence numbers on broker messages, so a receiving fleet counts what it missed: Redis pub/sub
 * is at most once and says nothing when a message reaches a shard where this fleet is not subscribed (yet), as
 * during a Cluster failover. Pure: the clock is passed in.
 *
 * The publisher numbers each topic's publishes 1, 2, 3, … (u32, wrapping to 1); the receiver keeps the last number
 * heard per (origin, topic) and counts `seq - last - 1` on a jump. A number at or below the last one is a new run
 * (the publisher forgot the topic after a silence, or wrapped): the `seq - 1` before it are counted. An origin not
 * heard on a topic since it was subscribed starts fresh (what came before was not meant for this fleet).
 */

/** u32 on the wire; after the last one numbering starts again at 1, which a receiver takes as a new run. */
const MAX_SEQ = 0xffffffff;
/** A topic not published (or an origin not heard on a topic) for this long is forgotten: the tables stay bounded. */
export const FORGET_AFTER_MS = 60_000;
/** How often the tables are swept of what was forgotten (at most; only when a call comes). */
const SWEEP_EVERY_MS = 10_000;

interface Heard {
  last: number;
  atMs: number;
}

/** Drops the entries of `table` not touched since `beforeMs`; returns how many are left. */
function sweep<K>(table: Map<K, Heard>, beforeMs: number): number {
  for (const [key, entry] of table) if (entry.atMs < beforeMs) table.delete(key);
  return table.size;
}

/** The publishing side: the next number of each topic (latin1 topic keys). */
export class PublishSequences {
  private readonly topics = new Map<string, Heard>();
  private sweptAtMs = 0;

  next(topicKey: string, nowMs: number): number {
    this.maybeSweep(nowMs);
    const entry = this.topics.get(topicKey);
    if (!entry) {
      this.topics.set(topicKey, { last: 1, atMs: nowMs });
      return 1;
    }
    entry.last = entry.last === MAX_SEQ ? 1 : entry.last + 1;
    entry.atMs = nowMs;
    return entry.last;
  }

  /** Topics numbered now (for tests and status). */
  get size(): number {
    return this.topics.size;
  }

  private maybeSweep(nowMs: number): void {
    if (nowMs - this.sweptAtMs < SWEEP_EVERY_MS) return;
    this.sweptAtMs = nowMs;
    sweep(this.topics, nowMs - FORGET_AFTER_MS);
  }
}

/** The receiving side: the last number heard per topic and origin (latin1 keys), and what the jumps add up to. */
export class SequenceTracker {
  private readonly topics = new Map<string, Map<string, Heard>>();
  private sweptAtMs = 0;
  /** Messages missed so far: numbers skipped between two heard from the same origin on the same topic. */
  lost = 0;

  /** A message `seq` from `origin` on `topicKey` was heard; returns how many before it were missed (also added to `lost`). */
  heard(origin: string, topicKey: string, seq: number, nowMs: number): number {
    this.maybeSweep(nowMs);
    let origins = this.topics.get(topicKey);
    if (!origins) {
      origins = new Map();
      this.topics.set(topicKey, origins);
    }
    const entry = origins.get(origin);
    if (!entry) {
      origins.set(origin, { last: seq, atMs: nowMs });
      return 0;
    }
    const missed = seq > entry.last ? seq - entry.last - 1 : seq - 1;
    entry.last = seq;
    entry.atMs = nowMs;
    this.lost += missed;
    return missed;
  }

  /** The topic was unsubscribed: what its origins publish while it is not served is not missed. */
  forget(topicKey: string): void {
    this.topics.delete(topicKey);
  }

  /** (origin, topic) pairs remembered now. */
  get size(): number {
    let size = 0;
    for (const origins of this.topics.values()) size += origins.size;
    return size;
  }

  private maybeSweep(nowMs: number): void {
    if (nowMs - this.sweptAtMs < SWEEP_EVERY_MS) return;
    this.sweptAtMs = nowMs;
    for (const [topic, origins] of this.topics) {
      if (sweep(origins, nowMs - FORGET_AFTER_MS) === 0) this.topics.delete(topic);
    }
  }
}

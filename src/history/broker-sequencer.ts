import { frameBody, frameIsBinary } from "../protocol/bus-frames.js";
import type { HistoryStatus } from "../protocol/control.js";
import {
  decodeMessage,
  decodeRecover,
  encodeMessage,
  encodePublished,
  RECOVER_MODE,
  type RecoverRequest,
} from "../protocol/history-frames.js";
import { encodeAnswer, type Sequencer } from "./sequencer.js";
import type { HistoryStore, Recovery, StoredMessage, StreamPosition } from "./store.js";

/** What the broker sequencer may do with the hub's workers: the router's side, handed in. */
export interface SequencerPorts<P> {
  /** The workers serving a topic now. */
  servers(topicKey: string): Iterable<P> | undefined;
  /** Queues a frame to one worker, after what was queued to it before. */
  send(peer: P, frame: Buffer): void;
  /** Queues a slice of a run read from the broker to one worker (no copy). */
  stage(peer: P, bytes: Buffer, start: number, end: number): void;
  /** Makes the worker a server of the topic (and the fleet a subscriber on the broker). */
  serve(peer: P, topicKey: string): void;
  /** Writes what was queued, after an answer that came later than the frame that asked. */
  flush(): void;
}

/** A frame held while a read from the store is on the way: copied, the run it came in is gone by then. */
interface Held {
  readonly frame: Buffer;
}

/** The hub's view of a topic's live stream from the broker: where it is, the last messages, what waits. */
interface LiveTopic {
  epoch: string | undefined;
  /** The last offset forwarded to the workers. */
  offset: number;
  /** The last `size` messages forwarded, oldest first, contiguous up to `offset`. */
  readonly ring: StoredMessage[];
  /** Reads from the store on the way; while any, live frames are held so the answer can be put before them. */
  reads: number;
  held: Held[];
  /** Epochs given up after their offsets went backwards (a failover): their late messages are dropped. */
  readonly retired: Set<string>;
}

/** A store that can give a topic a new epoch at once (redis-store.ts' renew). */
interface Renewable {
  renew?(topic: string): Promise<StreamPosition>;
}

const LOST: StreamPosition = { epoch: "", offset: Number.NaN };

/**
 * `--history` with `--broker`: Redis sequences (redis-store.ts: one Lua call INCRs, XADDs and PUBLISHes), so every
 * fleet on the broker sees the same offsets; this fleet's own publishes come back from the broker like the others'.
 * The hub keeps, per topic served here, a ring of the last n messages it forwarded (in offset order), and answers a
 * recovery from it at once when it covers `since` (the same seam as the embedded sequencer: the answer goes in the
 * worker's stream where the live messages are). An older `since` is read from the store; while that read is on the
 * way the topic's live frames are held, and the answer is cut at the last offset forwarded (completed from the ring),
 * so nothing is in both. A jump in the live offsets (messages missed on pub/sub: a SUBSCRIBE still on the way, a
 * reconnection) is filled from the store before the live frames that follow; what the store no longer has is lost,
 * counted.
 *
 * Redis unreachable: publishes are sequenced by the embedded sequencer (its own epoch: a client that recovers across
 * the switch is told recovered:false) and reach this fleet's workers only; they are counted.
 */
export class BrokerSequencer<P> {
  private readonly topics = new Map<string, LiveTopic>();
  private readonly acks = new Map<P, Promise<unknown>>();
  private readonly counts = {
    sequenced: 0,
    recovered: 0,
    notRecovered: 0,
    local: 0,
    lostOnPubSub: 0,
    filled: 0,
    renewed: 0,
  };

  constructor(
    private readonly store: HistoryStore & Renewable,
    private readonly local: Sequencer,
    private readonly size: number,
    private readonly storeUp: () => boolean,
    private readonly ports: SequencerPorts<P>,
  ) {}

  /** A worker's PUBLISH: to the store (which publishes it to every fleet), the worker told its position in order. */
  publish(peer: P, topic: Buffer, topicKey: string, payload: Buffer, isBinary: boolean): void {
    const copy = Buffer.from(payload);
    const appended = this.storeUp()
      ? Promise.resolve(this.store.append(topicKey, copy, isBinary)).then(
          (position) => {
            this.counts.sequenced += 1;
            return position;
          },
          () => this.sequenceLocally(topic, topicKey, copy, isBinary),
        )
      : Promise.resolve(this.sequenceLocally(topic, topicKey, copy, isBinary));
    // Positions go back in publish order, whichever way each was sequenced.
    const previous = this.acks.get(peer) ?? Promise.resolve();
    const next = previous
      .then(() => appended)
      .then((position) => {
        this.ports.send(peer, encodePublished(topic, position ?? LOST));
        this.ports.flush();
      });
    this.acks.set(peer, next);
    void next.finally(() => {
      if (this.acks.get(peer) === next) this.acks.delete(peer);
    });
  }

  /** A sequenced message from the broker (a slice of `bytes`): to the topic's servers, in offset order. */
  live(topicKey: string, bytes: Buffer, start: number, end: number, body: Buffer): void {
    const topic = this.topics.get(topicKey);
    if (topic && topic.reads > 0) {
      topic.held.push({ frame: Buffer.from(bytes.subarray(start, end)) });
      return;
    }
    this.forward(topicKey, bytes, start, end, body);
  }

  /** A worker's RECOVER: served the topic first, answered from the ring at once or after a read from the store. */
  recover(peer: P, topic: Buffer, topicKey: string, body: Buffer): void {
    const request = decodeRecover(body);
    const subscribes = request.mode === RECOVER_MODE.LIVE || request.mode === RECOVER_MODE.SINCE;
    if (subscribes) this.ports.serve(peer, topicKey);
    const live = this.topic(topicKey);
    const fromRing = this.fromRing(live, request);
    if (fromRing) {
      this.answer(peer, topic, request, fromRing);
      return;
    }
    live.reads += 1;
    const read = this.storeUp() ? this.read(topicKey, request) : Promise.reject(new Error("broker down"));
    void read
      .catch((): Recovery => ({ recovered: false, position: this.positionOf(live) ?? LOST }))
      .then((recovery) => {
        this.answer(peer, topic, request, this.cut(live, recovery));
        live.reads -= 1;
        if (live.reads === 0) this.release(topicKey, live);
        this.ports.flush();
      });
  }

  /** The fleet stops serving a topic: its ring goes (it would no longer be contiguous). */
  served(topicKey: string, serving: boolean): void {
    if (!serving && this.topics.get(topicKey)?.reads === 0) this.topics.delete(topicKey);
  }

  status(): HistoryStatus {
    let messages = 0;
    let bytes = 0;
    for (const topic of this.topics.values()) {
      messages += topic.ring.length;
      for (const message of topic.ring) bytes += message.payload.length;
    }
    const local = this.local.status();
    return {
      topics: this.topics.size + local.topics,
      messages: messages + local.messages,
      bytes: bytes + local.bytes,
      sequenced: this.counts.sequenced + local.sequenced,
      recovered: this.counts.recovered,
      notRecovered: this.counts.notRecovered,
      expired: local.expired,
      sequencedLocally: this.counts.local,
      lostOnPubSub: this.counts.lostOnPubSub,
      filledFromStore: this.counts.filled,
    };
  }

  /** The topics whose history the store must keep past its TTL while they are served (touched). */
  servedTopics(): IterableIterator<string> {
    return this.topics.keys();
  }

  private sequenceLocally(topic: Buffer, topicKey: string, payload: Buffer, isBinary: boolean): StreamPosition {
    this.counts.local += 1;
    const { message, position } = this.local.sequence(topic, topicKey, payload, isBinary);
    for (const peer of this.ports.servers(topicKey) ?? []) this.ports.send(peer, message);
    return position;
  }

  private forward(topicKey: string, bytes: Buffer, start: number, end: number, body: Buffer): void {
    const { position, payload } = decodeMessage(body);
    const topic = this.topic(topicKey);
    if (topic.retired.has(position.epoch)) {
      this.counts.lostOnPubSub += 1;
      return;
    }
    if (topic.epoch === position.epoch) {
      if (position.offset <= topic.offset) {
        // Already forwarded (a recovery's read overlapped it), or the offsets went backwards with other messages: a
        // failover to a replica that missed the last appends. Then that history is not one any more: a new epoch.
        if (!this.sameAsForwarded(topic, position.offset, payload)) this.retire(topicKey, topic, position.epoch);
        return;
      }
      if (position.offset > topic.offset + 1) {
        // Missed on pub/sub (a SUBSCRIBE still on the way, a reconnection): read them from the store first.
        topic.held.push({ frame: Buffer.from(bytes.subarray(start, end)) });
        this.fill(topicKey, topic, { epoch: position.epoch, offset: topic.offset });
        return;
      }
    } else {
      // A new epoch (the store lost the history, or this is the first message seen): the ring starts again.
      topic.epoch = position.epoch;
      topic.ring.length = 0;
    }
    const isBinary = frameIsBinary(bytes, start);
    this.deliver(
      topicKey,
      topic,
      { offset: position.offset, payload: Buffer.from(payload), isBinary },
      bytes,
      start,
      end,
    );
  }

  /** One message in offset order: into the ring, and to every worker serving the topic (a slice of `bytes`). */
  private deliver(
    topicKey: string,
    topic: LiveTopic,
    message: StoredMessage,
    bytes: Buffer,
    start: number,
    end: number,
  ): void {
    topic.offset = message.offset;
    topic.ring.push(message);
    if (topic.ring.length > this.size) topic.ring.shift();
    for (const peer of this.ports.servers(topicKey) ?? []) this.ports.stage(peer, bytes, start, end);
  }

  /** Whether the ring holds this offset with these bytes (a duplicate, not a second history). */
  private sameAsForwarded(topic: LiveTopic, offset: number, payload: Buffer): boolean {
    const oldest = topic.offset - topic.ring.length + 1;
    const kept = offset >= oldest ? topic.ring[offset - oldest] : undefined;
    return kept === undefined || kept.payload.equals(payload);
  }

  /** The epoch's offsets went backwards: it is retired here and renewed in the store, so publishes get a new one. */
  private retire(topicKey: string, topic: LiveTopic, epoch: string): void {
    topic.retired.add(epoch);
    this.counts.lostOnPubSub += 1;
    topic.epoch = undefined;
    topic.offset = 0;
    topic.ring.length = 0;
    this.counts.renewed += 1;
    void this.store.renew?.(topicKey).catch(() => {});
  }

  /** Gap fill: the messages after `from` read from the store and forwarded before the held live ones. */
  private fill(topicKey: string, topic: LiveTopic, from: StreamPosition): void {
    topic.reads += 1;
    const topicBytes = Buffer.from(topicKey, "latin1");
    const read = this.storeUp() ? Promise.resolve(this.store.since(topicKey, from)) : Promise.resolve(undefined);
    void read
      .catch(() => undefined)
      .then((recovery) => {
        // Only what is missing: from the first held frame on, the live stream has it.
        const first = topic.held[0];
        const heldFrom = first
          ? decodeMessage(frameBody(first.frame, 0, first.frame.length)).position.offset
          : Infinity;
        if (recovery?.recovered && recovery.position.epoch === topic.epoch) {
          for (const message of recovery.messages) {
            if (message.offset >= heldFrom) break;
            if (message.offset <= topic.offset) continue;
            if (message.offset !== topic.offset + 1) break;
            const frame = encodeMessage(
              topicBytes,
              { epoch: from.epoch, offset: message.offset },
              message.payload,
              message.isBinary,
            );
            this.counts.filled += 1;
            this.deliver(topicKey, topic, message, frame, 0, frame.length);
          }
        }
        topic.reads -= 1;
        const next = topic.held[0];
        if (topic.reads === 0 && next) {
          // Still a gap after the fill (trimmed, or the store lost the history): those are lost, counted.
          const { position } = decodeMessage(frameBody(next.frame, 0, next.frame.length));
          if (position.epoch === topic.epoch && position.offset > topic.offset + 1) {
            this.counts.lostOnPubSub += position.offset - topic.offset - 1;
            topic.offset = position.offset - 1;
          }
        }
        if (topic.reads === 0) this.release(topicKey, topic);
        this.ports.flush();
      });
  }

  private release(topicKey: string, topic: LiveTopic): void {
    const held = topic.held;
    topic.held = [];
    for (const [i, { frame }] of held.entries()) {
      // A gap among them started a fill: the rest wait for it, in order.
      if (topic.reads > 0) {
        topic.held.push(...held.slice(i));
        return;
      }
      this.forward(topicKey, frame, 0, frame.length, frameBody(frame, 0, frame.length));
    }
  }

  private topic(topicKey: string): LiveTopic {
    let topic = this.topics.get(topicKey);
    if (!topic) {
      topic = { epoch: undefined, offset: 0, ring: [], reads: 0, held: [], retired: new Set() };
      this.topics.set(topicKey, topic);
    }
    return topic;
  }

  private positionOf(topic: LiveTopic): StreamPosition | undefined {
    return topic.epoch === undefined ? undefined : { epoch: topic.epoch, offset: topic.offset };
  }

  /** The answer from the ring alone, when it holds everything after `since` (or `since` is plainly not servable). */
  private fromRing(topic: LiveTopic, request: RecoverRequest): Recovery | undefined {
    const position = this.positionOf(topic);
    if (!position || topic.reads > 0) return undefined;
    if (request.mode === RECOVER_MODE.LIVE) return { recovered: true, position, messages: [] };
    if (request.mode === RECOVER_MODE.READ_ALL) return undefined;
    const { since } = request;
    if (since.epoch !== position.epoch) return undefined;
    if (!Number.isSafeInteger(since.offset) || since.offset < 0 || since.offset > position.offset) {
      return { recovered: false, position };
    }
    const oldest = topic.offset - topic.ring.length + 1;
    if (since.offset < oldest - 1) return undefined;
    const messages = topic.ring.slice(since.offset + 1 - oldest);
    return { recovered: true, position, messages: limit(messages, request.limit) };
  }

  private read(topicKey: string, request: RecoverRequest): Promise<Recovery> {
    if (request.mode === RECOVER_MODE.LIVE) {
      return Promise.resolve(this.store.position(topicKey)).then((position) => ({
        recovered: true,
        position,
        messages: [],
      }));
    }
    if (request.mode === RECOVER_MODE.READ_ALL) {
      return Promise.resolve(this.store.position(topicKey)).then((position) =>
        this.store.since(
          topicKey,
          { epoch: position.epoch, offset: Math.max(0, position.offset - this.size) },
          request.limit || undefined,
        ),
      );
    }
    return Promise.resolve(this.store.since(topicKey, request.since, request.limit || undefined));
  }

  /**
   * The store's answer made to end where the topic's live stream is in this hub: beyond it, the live frames still to
   * come bring the rest; short of it, the ring adds what was forwarded meanwhile. A topic with no live message yet
   * starts where the store is.
   */
  private cut(topic: LiveTopic, recovery: Recovery): Recovery {
    const live = this.positionOf(topic);
    if (!live || live.epoch !== recovery.position.epoch) {
      if (!live) {
        topic.epoch = recovery.position.epoch;
        topic.offset = recovery.position.offset;
        if (recovery.recovered) {
          for (const message of recovery.messages) topic.ring.push(message);
          topic.ring.splice(0, Math.max(0, topic.ring.length - this.size));
        }
      }
      return live ? { recovered: false, position: live } : recovery;
    }
    if (!recovery.recovered) return { recovered: false, position: live };
    const kept = recovery.messages.filter((message) => message.offset <= live.offset);
    const lastKept = kept.at(-1)?.offset ?? recovery.position.offset;
    if (lastKept >= live.offset) return { recovered: true, position: live, messages: kept };
    const oldest = topic.offset - topic.ring.length + 1;
    if (lastKept < oldest - 1) return { recovered: false, position: live };
    return { recovered: true, position: live, messages: [...kept, ...topic.ring.slice(lastKept + 1 - oldest)] };
  }

  private answer(peer: P, topic: Buffer, request: RecoverRequest, recovery: Recovery): void {
    if (recovery.recovered) this.counts.recovered += 1;
    else this.counts.notRecovered += 1;
    this.ports.send(peer, encodeAnswer(topic, request.id, recovery));
  }
}

function limit(messages: StoredMessage[], count: number): StoredMessage[] {
  return count > 0 ? messages.slice(0, count) : messages;
}

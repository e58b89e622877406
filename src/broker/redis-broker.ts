import { randomBytes } from "node:crypto";
import type { Cluster } from "ioredis";
import { Redis, type RedisOptions } from "ioredis";
import type { BusUplink } from "../bus/router.js";
import { wsfleetError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { FLEET_BYTES, ORIGIN_BYTES } from "../protocol/broker-origin.js";
import { countFrames, type FrameRun, frameTopicKey } from "../protocol/bus-frames.js";
// Its side of `wsfleet status` and /metrics; messages there are publishes (frames), not Redis commands.
import type { BrokerStatus } from "../protocol/control.js";
import type { BrokerCounts } from "../protocol/counters.js";
import { PublishSequences, SequenceTracker } from "./sequence.js";

// Each message on Redis starts with its publisher's origin (src/protocol/broker-origin.ts), so a fleet skips its own.
/** Then the topic's sequence number from that origin (u32 BE), so a receiver counts what it missed; then the frame. */
const SEQ_BYTES = 4;
const PREFIX_BYTES = ORIGIN_BYTES + SEQ_BYTES;
/**
 * --history's sequenced messages (src/history/redis-store.ts' script PUBLISHes them) start with this prefix: no
 * fleet's origin (those are random), so every fleet takes them, its own too, and no sequence number: their offsets
 * are the history's own, gap-checked by the hub's sequencer.
 */
export const SEQUENCED_PREFIX = Buffer.alloc(PREFIX_BYTES);
const SEQUENCED_ORIGIN = SEQUENCED_PREFIX.toString("latin1", 0, ORIGIN_BYTES);
/** Back-off between reconnection attempts: 100 ms, 200 ms, … capped at 1 s, so delivery resumes within ~1 s. */
const MAX_RECONNECT_DELAY_MS = 1000;
/** A broker that does not answer at start within this is as unreachable as one that refuses. */
const CONNECT_TIMEOUT_MS = 3000;

/** redis://:secret@host → redis://:***@host, for logs and status. */
export function redactUrl(url: string): string {
  return url.replace(
    /\/\/([^@/]*)@/,
    (_, auth: string) => `//${auth.includes(":") ? `${auth.split(":")[0]}:***` : "***"}@`,
  );
}

/** Plain pub/sub on one Redis, or sharded pub/sub on a Redis Cluster (SPUBLISH/SSUBSCRIBE: a channel lives on one shard). */
export interface PubSubFlavour {
  publish: "publish" | "spublish";
  subscribe: "subscribe" | "ssubscribe";
  unsubscribe: "unsubscribe" | "sunsubscribe";
  message: "messageBuffer" | "smessageBuffer";
  /** The channel of a topic: `wsfleet:<name>:<topic>`; the cluster's puts the topic in a hash tag, `{<topic>}`. */
  channel(name: string, topic: Buffer): Buffer;
}

export const PLAIN_PUB_SUB: PubSubFlavour = {
  publish: "publish",
  subscribe: "subscribe",
  unsubscribe: "unsubscribe",
  message: "messageBuffer",
  channel: (name, topic) => Buffer.concat([Buffer.from(`wsfleet:${name}:`), topic]),
};

type Command = (channel: Buffer, message?: Buffer) => Promise<unknown>;

/** Who publishes: `origin` heads each message; one whose first `ownBytes` match it is ours (the hub delivered it). */
export interface BrokerIdentity {
  readonly origin: Buffer;
  readonly ownBytes: number;
}

/** A primary on its own: a random origin, all of it its own. */
function primaryIdentity(): BrokerIdentity {
  return { origin: randomBytes(ORIGIN_BYTES), ownBytes: ORIGIN_BYTES };
}

/** A worker of the fleet `fleetOrigin` (FLEET_BYTES): the fleet's bytes, then two of its own. */
export function workerIdentity(fleetOrigin: Buffer): BrokerIdentity {
  if (fleetOrigin.length !== FLEET_BYTES)
    throw new Error(`a fleet origin is ${FLEET_BYTES} bytes, got ${fleetOrigin.length}`);
  return { origin: Buffer.concat([fleetOrigin, randomBytes(ORIGIN_BYTES - FLEET_BYTES)]), ownBytes: FLEET_BYTES };
}

/**
 * How a broker is opened: `wait` for Redis (the primary, exit 2 if unreachable) or not (a worker, which retries).
 * On one Redis, `pipelined` (the default) gathers what is published in one turn of the event loop into one write at
 * the next setImmediate, while `pipelined: false` writes each PUBLISH at once, as the bare uWS bridge does (a worker:
 * the other host's deliveries then start alongside this one's instead of after them). A Cluster stays pipelined:
 * unpipelined, test/e2e/redis-cluster.test.js lost messages on shards that stayed up (cause not looked into).
 */
export interface BrokerOpening {
  readonly identity?: BrokerIdentity;
  readonly wait?: boolean;
  readonly pipelined?: boolean;
}

/**
 * `--broker redis://...`: a channel per topic, `wsfleet:<name>:<topic>`. Its owner (each worker,
 * src/worker/broker-peer.ts; with --history the primary, for its hub) publishes each publish to its topic's channel
 * and subscribes only to the channels of topics it serves, handing on what other fleets of the same name publish
 * there. Two connections (Redis' subscriber mode takes one over; a Cluster's sharded subscribers are its own). While Redis is away publishes are dropped, not queued (at most once,
 * like socket.io's Redis adapter); ioredis reconnects with back-off, and every served topic is subscribed again.
 */
export class RedisBroker implements BusUplink {
  private readonly origin: Buffer;
  private readonly ownBytes: number;
  private readonly counts = { published: 0, received: 0, dropped: 0, errors: 0, reconnects: 0 };
  private readonly sequences = new PublishSequences();
  private readonly heard = new SequenceTracker();
  /** The topics (latin1 keys) this fleet serves: its subscriptions. */
  private readonly topics = new Set<string>();
  /**
   * Topics with a SUBSCRIBE not yet answered, and how many: a message on one of them was published under an earlier
   * subscription (before an UNSUBSCRIBE and a gap), and is dropped so each topic's run has no hole.
   */
  private readonly pending = new Map<string, number>();
  private lost = false;

  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly publisher: Redis | Cluster,
    private readonly subscriber: Redis | Cluster,
    logger: Logger,
    private readonly flavour: PubSubFlavour = PLAIN_PUB_SUB,
    identity: BrokerIdentity = primaryIdentity(),
  ) {
    this.origin = identity.origin;
    this.ownBytes = identity.ownBytes;
    // Opened without waiting, the first "ready" is the connection, not a reconnection.
    let readyBefore = subscriber.status === "ready";
    // A subscription asked for while Redis was away never took: ask again for all of them.
    subscriber.on("ready", () => this.resubscribe());
    for (const client of new Set([publisher, subscriber])) {
      client.on("error", (error: Error) => {
        this.counts.errors += 1;
        if (this.lost) return;
        this.lost = true;
        logger.event("warn", "broker-lost", `broker ${redactUrl(url)}: ${error.message}; reconnecting`);
      });
      client.on("ready", () => {
        if (client === subscriber) {
          if (readyBefore) this.counts.reconnects += 1;
          readyBefore = true;
        }
        if (!this.lost || this.state() !== "connected") return;
        this.lost = false;
        logger.event("info", "broker-back", `broker ${redactUrl(url)}: connected again`);
      });
    }
  }

  /** Connects and subscribes, or throws exit 2 naming --broker: checked before any worker starts. */
  static async connect(url: string, name: string, logger: Logger, opening: BrokerOpening = {}): Promise<RedisBroker> {
    const options: RedisOptions = {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
    };
    const publisher = new Redis(url, { ...options, enableAutoPipelining: opening.pipelined !== false });
    const subscriber = new Redis(url, options);
    if (opening.wait === false) {
      const broker = new RedisBroker(url, name, publisher, subscriber, logger, PLAIN_PUB_SUB, opening.identity);
      // Refused now: ioredis goes on retrying with the back-off, and "ready" subscribes what is served by then.
      for (const client of [publisher, subscriber]) client.connect().catch(() => {});
      return broker;
    }
    let lastError: Error | undefined;
    const remember = (error: Error) => {
      lastError = error;
    };
    publisher.on("error", remember);
    subscriber.on("error", remember);
    try {
      await Promise.all([publisher.connect(), subscriber.connect()]);
    } catch (error) {
      publisher.disconnect();
      subscriber.disconnect();
      throw wsfleetError("brokerUnreachable", redactUrl(url), (lastError ?? (error as Error)).message);
    }
    publisher.off("error", remember);
    subscriber.off("error", remember);
    return new RedisBroker(url, name, publisher, subscriber, logger, PLAIN_PUB_SUB, opening.identity);
  }

  /** Other fleets' publishes, as runs of whole frames, go to `deliver`. */
  onRun(deliver: (run: FrameRun) => void): void {
    this.subscriber.on(this.flavour.message, (_channel: Buffer, message: Buffer) => {
      if (message.length < PREFIX_BYTES || this.origin.compare(message, 0, this.ownBytes, 0, this.ownBytes) === 0)
        return;
      const topicKey = frameTopicKey(message, PREFIX_BYTES);
      if (this.pending.size > 0 && this.pending.has(topicKey)) return;
      const origin = message.toString("latin1", 0, ORIGIN_BYTES);
      if (origin !== SEQUENCED_ORIGIN)
        this.heard.heard(origin, topicKey, message.readUInt32BE(ORIGIN_BYTES), Date.now());
      const bytes = message.subarray(PREFIX_BYTES);
      const run = { bytes, count: countFrames(bytes) };
      this.counts.received += run.count;
      deliver(run);
    });
  }

  /**
   * One PUBLISH to the topic's channel: the origin id, the topic's sequence number, then the frame as the worker wrote
   * it (auto-pipelined unless opened `pipelined: false`). A publish dropped here takes its number too, so the receivers
   * count it as lost.
   */
  publish(topicKey: string, frame: Buffer): void {
    const seq = this.sequences.next(topicKey, Date.now());
    if (this.publisher.status !== "ready") {
      this.counts.dropped += 1;
      return;
    }
    this.counts.published += 1;
    const message = Buffer.allocUnsafe(PREFIX_BYTES + frame.length);
    this.origin.copy(message, 0);
    message.writeUInt32BE(seq, ORIGIN_BYTES);
    frame.copy(message, PREFIX_BYTES);
    this.command("publish", topicKey, message).catch(() => {
      this.counts.dropped += 1;
    });
  }

  /** The fleet's first subscriber to a topic: subscribe its channel. */
  serve(topicKey: string): void {
    this.topics.add(topicKey);
    // Numbering starts afresh: what was heard between an unsubscribe and now (late, of the old subscription) is gone.
    this.heard.forget(topicKey);
    if (this.subscriber.status === "ready") this.subscribe(topicKey);
  }

  /** Its last one left: what other fleets publish to the topic from here on is not missed. */
  unserve(topicKey: string): void {
    this.topics.delete(topicKey);
    this.heard.forget(topicKey);
    if (this.subscriber.status === "ready") this.command("unsubscribe", topicKey).catch(() => {});
  }

  /**
   * Subscribes every served topic again (Redis ignores a subscription it has). On a new connection nothing stale can
   * arrive first, and on the old one nothing is stale: these are not marked pending.
   */
  resubscribe(): void {
    for (const topic of this.topics) this.command("subscribe", topic).catch(() => {});
  }

  /** --history: the connection the Redis store runs its scripts on, the pub/sub flavour, and whether Redis is up. */
  historyAccess(): { client: Redis | Cluster; flavour: PubSubFlavour; ready: () => boolean } {
    return { client: this.publisher, flavour: this.flavour, ready: () => this.publisher.status === "ready" };
  }

  /**
   * `counts` (a worker's on Redis itself, summed by the primary) in place of this broker's own: the URL, channel and
   * state are still this connection's.
   */
  status(counts: BrokerCounts = this.countsNow()): BrokerStatus {
    const channel = this.flavour.channel(this.name, Buffer.from("<topic>")).toString();
    return { url: redactUrl(this.url), channel, state: this.state(), ...counts };
  }

  /**
   * Resolves once both connections are ready, or after `timeoutMs` (then ioredis goes on retrying): a worker waits so
   * that what its first clients subscribe is subscribed on Redis, not left for the "ready" that comes later.
   */
  whenReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const clients = [...new Set([this.publisher, this.subscriber])];
      function done() {
        clearTimeout(timer);
        for (const client of clients) client.off("ready", check);
        resolve();
      }
      const check = () => {
        if (this.state() === "connected") done();
      };
      for (const client of clients) client.on("ready", check);
      check();
    });
  }

  countsNow(): BrokerCounts {
    return { subscriptions: this.topics.size, ...this.counts, lost: this.heard.lost };
  }

  close(): void {
    for (const client of new Set([this.publisher, this.subscriber])) client.disconnect();
  }

  private subscribe(topicKey: string): void {
    this.pending.set(topicKey, (this.pending.get(topicKey) ?? 0) + 1);
    this.command("subscribe", topicKey)
      .catch(() => {})
      .finally(() => {
        const left = (this.pending.get(topicKey) ?? 1) - 1;
        if (left > 0) this.pending.set(topicKey, left);
        else this.pending.delete(topicKey);
      });
  }

  /** One publish/subscribe/unsubscribe on its client, in this broker's flavour; an error is counted, then passed on. */
  private command(kind: "publish" | "subscribe" | "unsubscribe", topicKey: string, message?: Buffer): Promise<unknown> {
    const client = kind === "publish" ? this.publisher : this.subscriber;
    const run = client[this.flavour[kind]] as unknown as Command;
    const channel = this.flavour.channel(this.name, Buffer.from(topicKey, "latin1"));
    const sent = message ? run.call(client, channel, message) : run.call(client, channel);
    return sent.catch((error) => {
      this.counts.errors += 1;
      throw error;
    });
  }

  private state(): BrokerStatus["state"] {
    return this.publisher.status === "ready" && this.subscriber.status === "ready" ? "connected" : "reconnecting";
  }
}

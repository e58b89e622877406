import type { BrokerSequencer, SequencerPorts } from "../history/broker-sequencer.js";
import type { Sequencer } from "../history/sequencer.js";
import {
  encodeNotice,
  type FrameRun,
  frameBody,
  frameIsBinary,
  frameKind,
  HISTORY,
  ROUTE,
  scanFrames,
} from "../protocol/bus-frames.js";
import { type Notify, TopicRoutes } from "./routing.js";

/** A worker has this much of the bus queued and unread: it loses what comes next (at most once, counted). */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/** A worker's connection, as the router writes to it (a net.Socket). */
export interface BusPeer {
  readonly writableLength: number;
  write(bytes: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
}

/** Where publishes leave the host and come back from (the broker), told which topics this fleet serves. */
export interface BusUplink {
  publish(topicKey: string, frame: Buffer): void;
  serve(topicKey: string): void;
  unserve(topicKey: string): void;
}

/** What the router counts, for `wsfleet status` and /metrics. */
export interface RouterCounts {
  /** Publishes that came in from workers. */
  forwarded: number;
  /** Copies of a publish written to a worker that serves its topic. */
  sent: number;
  /** Copies not written: a connected worker that does not serve the topic. */
  skipped: number;
  /** Copies a worker could not be given: it had too much of the bus unread. */
  dropped: number;
}

/**
 * One peer's writes of the call being handled, in order: slices of the run (contiguous frames kept as one slice) and
 * notices between them, so a notice never overtakes a publish routed before it.
 */
interface Outbox {
  readonly peer: BusPeer;
  parts: Buffer[];
  bytes: Buffer | undefined;
  start: number;
  end: number;
  frames: number;
  /** Topics told UNWANTED and not yet acknowledged: the peer's publishes of them still on the way are stale. */
  readonly muted: Map<string, number>;
}

/**
 * The hub's forwarding: each publish goes to the workers serving its topic and to nobody else, in the order it came,
 * without copying (slices of the run read from the socket). A worker's serve/unserve notices update the table and the
 * other workers are told, as deltas, which topics they must send on (see TopicRoutes).
 *
 * Two acknowledgements make each subscriber's run of a publisher's messages gapless (docs/publish.md, "Topic
 * routing"): a SERVE is answered SERVED in the same stream, so the worker can drop what was routed to it before
 * (under an earlier subscription); and a worker's publishes of a topic after it was told UNWANTED, up to its
 * UNWANTED_SEEN, are dropped here, since it kept some of those that followed.
 */
export class BusRouter {
  readonly counts: RouterCounts = { forwarded: 0, sent: 0, skipped: 0, dropped: 0 };
  private readonly routes = new TopicRoutes<Outbox>();
  private readonly outboxes = new Map<BusPeer, Outbox>();
  private touched: Outbox[] = [];
  private uplink: BusUplink | undefined;
  /** --history: publishes come as HISTORY.PUBLISH, get their offset here and go to every serving worker, its own too. */
  private sequencer: Sequencer | undefined;
  /** --history with --broker: Redis sequences; the embedded sequencer only while Redis is away. */
  private brokerSequencer: BrokerSequencer<Outbox> | undefined;
  private readonly notify: Notify<Outbox> = (box, topic, wanted) => {
    // With a broker, or with --history, every worker sends everything already (other hosts may serve any topic).
    if (this.uplink || this.sequencer) return;
    if (!wanted) box.muted.set(topic, (box.muted.get(topic) ?? 0) + 1);
    this.enqueue(box, encodeNotice(wanted ? ROUTE.WANTED : ROUTE.UNWANTED, Buffer.from(topic, "latin1")));
  };

  /** A broker: every publish also goes up, and it is told each topic this fleet serves, from now on. */
  connectUplink(uplink: BusUplink): void {
    this.uplink = uplink;
    for (const topic of this.routes.allTopics()) uplink.serve(topic);
    for (const box of this.outboxes.values()) this.enqueue(box, encodeNotice(ROUTE.WANT_ALL, ""));
    this.flush();
  }

  /** --history, set before any worker joins. */
  sequenceWith(sequencer: Sequencer): void {
    this.sequencer = sequencer;
  }

  /** --history with --broker: `make` gets the router's side (whom a topic is served by, queueing, flushing). */
  sequenceThroughBroker(make: (ports: SequencerPorts<Outbox>) => BrokerSequencer<Outbox>): BrokerSequencer<Outbox> {
    this.brokerSequencer = make({
      servers: (topic) => this.routes.serversOf(topic),
      send: (box, frame) => this.enqueue(box, frame),
      stage: (box, bytes, start, end) => {
        this.stage(box, bytes, start, end);
        this.counts.sent += 1;
      },
      serve: (box, topic) => this.serve(box, topic),
      flush: () => this.flush(),
    });
    return this.brokerSequencer;
  }

  join(peer: BusPeer): void {
    const box: Outbox = { peer, parts: [], bytes: undefined, start: -1, end: -1, frames: 0, muted: new Map() };
    this.outboxes.set(peer, box);
    const wanted = this.routes.join(box);
    if (this.uplink) this.enqueue(box, encodeNotice(ROUTE.WANT_ALL, ""));
    else for (const topic of wanted) this.enqueue(box, encodeNotice(ROUTE.WANTED, Buffer.from(topic, "latin1")));
    this.flush();
  }

  leave(peer: BusPeer): void {
    const box = this.outboxes.get(peer);
    if (!box) return;
    this.outboxes.delete(peer);
    for (const topic of this.routes.leave(box, this.notify)) {
      this.uplink?.unserve(topic);
      this.sequencer?.served(topic, false);
      this.brokerSequencer?.served(topic, false);
    }
    this.flush();
  }

  /** A run from a worker (`from`) or from the broker (undefined): each publish to the workers serving its topic. */
  route(from: BusPeer | undefined, run: FrameRun): void {
    const source = from && this.outboxes.get(from);
    const { bytes } = run;
    scanFrames(bytes, (start, end, kind, topic) => {
      if (kind !== 0) {
        if (!source) {
          if (kind === HISTORY.MESSAGE)
            this.brokerSequencer?.live(topic, bytes, start, end, frameBody(bytes, start, end));
          return;
        }
        if (kind === HISTORY.PUBLISH) this.sequence(source, topic, bytes, start, end);
        else if (kind === HISTORY.RECOVER) this.recover(source, topic, frameBody(bytes, start, end));
        else this.notice(source, kind, topic);
        return;
      }
      const stale = source !== undefined && source.muted.size > 0 && source.muted.has(topic);
      const servers = stale ? undefined : this.routes.serversOf(topic);
      let targets = 0;
      if (servers) {
        for (const box of servers) {
          if (box === source) continue;
          this.stage(box, bytes, start, end);
          targets += 1;
        }
      }
      this.counts.sent += targets;
      this.counts.skipped += this.outboxes.size - (source ? 1 : 0) - targets;
      if (source) {
        this.counts.forwarded += 1;
        this.uplink?.publish(topic, bytes.subarray(start, end));
      }
    });
    this.flush();
  }

  /** Topics served by at least one worker. */
  get servedTopics(): number {
    return this.routes.servedTopics;
  }

  /**
   * --history: the publish gets its offset and goes, as one MESSAGE frame, to every worker serving the topic (the
   * publisher's own too: its subscribers see the same order as everyone's); the publisher is told its position.
   */
  private sequence(source: Outbox, topic: string, bytes: Buffer, start: number, end: number): void {
    const topicBytes = Buffer.from(topic, "latin1");
    if (this.brokerSequencer) {
      this.counts.forwarded += 1;
      this.brokerSequencer.publish(
        source,
        topicBytes,
        topic,
        frameBody(bytes, start, end),
        frameIsBinary(bytes, start),
      );
      return;
    }
    const sequencer = this.sequencer;
    if (!sequencer) return;
    const { message, published } = sequencer.publish(
      topicBytes,
      topic,
      frameBody(bytes, start, end),
      frameIsBinary(bytes, start),
    );
    const servers = this.routes.serversOf(topic);
    let targets = 0;
    if (servers) {
      for (const box of servers) {
        this.enqueue(box, message);
        targets += 1;
      }
    }
    this.enqueue(source, published);
    this.counts.forwarded += 1;
    this.counts.sent += targets;
    this.counts.skipped += this.outboxes.size - targets;
  }

  /**
   * --history: "the messages after since". The worker is made a server of the topic first, and the answer goes in the
   * same stream as the topic's MESSAGEs: every later one comes after it, none is in both (the seam).
   */
  private recover(box: Outbox, topic: string, body: Buffer): void {
    if (this.brokerSequencer) {
      this.brokerSequencer.recover(box, Buffer.from(topic, "latin1"), topic, body);
      return;
    }
    const sequencer = this.sequencer;
    if (!sequencer) return;
    const { answer, subscribes } = sequencer.recover(Buffer.from(topic, "latin1"), topic, body);
    if (subscribes) this.serve(box, topic);
    this.enqueue(box, answer);
  }

  private serve(box: Outbox, topic: string): void {
    if (!this.routes.serve(box, topic, this.notify)) return;
    this.uplink?.serve(topic);
    this.sequencer?.served(topic, true);
  }

  private unserve(box: Outbox, topic: string): void {
    if (!this.routes.unserve(box, topic, this.notify)) return;
    this.uplink?.unserve(topic);
    this.sequencer?.served(topic, false);
    this.brokerSequencer?.served(topic, false);
  }

  private notice(box: Outbox, kind: number, topic: string): void {
    if (kind === ROUTE.SERVE) {
      this.serve(box, topic);
      this.enqueue(box, encodeNotice(ROUTE.SERVED, Buffer.from(topic, "latin1")));
    } else if (kind === ROUTE.UNSERVE) {
      this.unserve(box, topic);
    } else if (kind === ROUTE.UNWANTED_SEEN) {
      const left = (box.muted.get(topic) ?? 1) - 1;
      if (left > 0) box.muted.set(topic, left);
      else box.muted.delete(topic);
    }
  }

  private touch(box: Outbox): void {
    if (box.parts.length === 0 && box.end < 0) this.touched.push(box);
  }

  /** Closes the slice being built into the parts. */
  private cut(box: Outbox): void {
    if (box.end < 0 || !box.bytes) return;
    box.parts.push(box.bytes.subarray(box.start, box.end));
    box.start = -1;
    box.end = -1;
  }

  private stage(box: Outbox, bytes: Buffer, start: number, end: number): void {
    this.touch(box);
    box.frames += 1;
    if (box.end === start && box.bytes === bytes) {
      box.end = end;
      return;
    }
    this.cut(box);
    box.bytes = bytes;
    box.start = start;
    box.end = end;
  }

  private enqueue(box: Outbox, notice: Buffer): void {
    this.touch(box);
    this.cut(box);
    box.parts.push(notice);
  }

  private flush(): void {
    for (const box of this.touched) {
      this.cut(box);
      const { peer, parts } = box;
      if (box.frames > 0 && peer.writableLength > MAX_QUEUED_BYTES) {
        // Too far behind: its publishes are lost (counted), its notices are not.
        this.counts.sent -= box.frames;
        this.counts.dropped += box.frames;
        for (const part of parts) if (frameKind(part) !== 0) peer.write(part);
      } else if (parts.length === 1) peer.write(parts[0] as Buffer);
      else {
        peer.cork();
        for (const part of parts) peer.write(part);
        peer.uncork();
      }
      box.parts = [];
      box.bytes = undefined;
      box.frames = 0;
    }
    this.touched = [];
  }
}

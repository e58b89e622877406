import { encodeNotice, ROUTE } from "../protocol/bus-frames.js";
import type { Counters } from "../protocol/counters.js";

/**
 * The worker's side of topic routing. uWebSockets.js reports every change of a topic's subscriber count (its
 * `subscription` handler, also on close), so the app's own `ws.subscribe`/`unsubscribe` are observed, not wrapped:
 * the hub hears "serve" when a topic gets its first subscriber here and "unserve" when it loses its last. The hub
 * answers with the topics wanted elsewhere; a publish on any other topic stays in this worker.
 *
 * Between a SERVE and the hub's SERVED, publishes of the topic coming from the hub were routed under an earlier
 * subscription (before a gap): they are dropped, so a new subscriber's run of each publisher's messages has no hole.
 */
export class TopicInterest {
  /** Topics (latin1 keys of their bytes) with a subscriber here: told to the hub again after a reconnect. */
  private readonly served = new Set<string>();
  /** Topics another worker serves, as the app's strings. */
  private readonly wanted = new Set<string>();
  private wantAll = false;
  /** Topics (latin1 keys) with SERVEs not yet answered SERVED, and how many. */
  private readonly pending = new Map<string, number>();
  /**
   * --history: topics with a recovery on the way, and how many. Its RECOVER made the hub serve the topic to this
   * worker; it stays served (no UNSERVE, no second SERVE) until the answer is read and its clients subscribed.
   */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly counters: Counters,
    private readonly send: (notice: Buffer) => void,
  ) {}

  /** uWebSockets.js' `subscription` handler: `topic` is valid only during the call. */
  readonly subscription = (topic: ArrayBuffer, newCount: number, oldCount: number): void => {
    if (oldCount === 0 && newCount > 0) {
      const key = Buffer.from(topic).toString("latin1");
      this.served.add(key);
      this.counters.topics += 1;
      if (!this.held.has(key)) this.serve(key);
    } else if (newCount === 0 && oldCount > 0) {
      const key = Buffer.from(topic).toString("latin1");
      this.served.delete(key);
      this.counters.topics -= 1;
      if (!this.held.has(key)) this.send(encodeNotice(ROUTE.UNSERVE, topic));
    }
  };

  /** A RECOVER for the topic is about to leave (it serves the topic at the hub). */
  hold(key: string): void {
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
  }

  /** Its answer was read and its clients subscribed: with no subscriber left here, the hub is told UNSERVE. */
  release(key: string): void {
    const left = (this.held.get(key) ?? 1) - 1;
    if (left > 0) {
      this.held.set(key, left);
      return;
    }
    this.held.delete(key);
    if (!this.served.has(key)) this.send(encodeNotice(ROUTE.UNSERVE, Buffer.from(key, "latin1")));
  }

  /** A notice from the hub. */
  readonly notice = (kind: number, topic: Uint8Array): void => {
    if (kind === ROUTE.WANT_ALL) this.wantAll = true;
    else if (kind === ROUTE.WANTED) this.wanted.add(Buffer.from(topic).toString());
    else if (kind === ROUTE.UNWANTED) {
      this.wanted.delete(Buffer.from(topic).toString());
      this.send(encodeNotice(ROUTE.UNWANTED_SEEN, topic));
    } else if (kind === ROUTE.SERVED) {
      const key = Buffer.from(topic).toString("latin1");
      const left = (this.pending.get(key) ?? 1) - 1;
      if (left > 0) this.pending.set(key, left);
      else this.pending.delete(key);
    }
  };

  /** A publish from the hub routed here before this worker's latest SERVE of its topic was read: to be dropped. */
  stale(topic: Uint8Array): boolean {
    return this.pending.size > 0 && this.pending.has(Buffer.from(topic).toString("latin1"));
  }

  /** Whether a publish on `topic` must go to the hub: someone outside this worker may serve it. */
  mustLeave(topic: string): boolean {
    return this.wantAll || this.wanted.has(topic);
  }

  /** A new connection to the hub: it knows nothing of us; what it wants it tells again. */
  reconnected(): void {
    this.wanted.clear();
    this.wantAll = false;
    this.pending.clear();
    this.held.clear();
    for (const topic of this.served) this.serve(topic);
  }

  private serve(key: string): void {
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
    this.send(encodeNotice(ROUTE.SERVE, Buffer.from(key, "latin1")));
  }
}

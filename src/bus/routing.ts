/**
 * Which peer (worker connection) serves which topic: the hub's routing table. Pure; the hub feeds it the workers'
 * serve/unserve notices and asks it, per publish, whom to forward to.
 *
 * It also says what each peer must be told: a peer sends a topic's publishes to the hub only while the topic is
 * *wanted*, that is served by some other peer. `notify(peer, topic, wanted)` is called exactly when that changes for
 * a peer, so a worker's view is a sequence of deltas, never the whole set again.
 */
export type Notify<P> = (peer: P, topic: string, wanted: boolean) => void;

export class TopicRoutes<P> {
  /** Topic → the peers serving it (never an empty set: a topic nobody serves is absent). */
  private readonly servers = new Map<string, Set<P>>();
  /** Peer → the topics it serves; every joined peer has an entry. */
  private readonly topics = new Map<P, Set<string>>();

  /** A new peer; returns the topics already wanted by it (served by others), to tell it first. */
  join(peer: P): string[] {
    if (!this.topics.has(peer)) this.topics.set(peer, new Set());
    return [...this.servers.keys()].filter((topic) => !this.servers.get(topic)?.has(peer));
  }

  /** `peer` serves `topic` now; true when no peer did before (the fleet starts serving it: subscribe the broker). */
  serve(peer: P, topic: string, notify: Notify<P>): boolean {
    const mine = this.topics.get(peer);
    if (!mine || mine.has(topic)) return false;
    mine.add(topic);
    const servers = this.servers.get(topic);
    if (!servers) {
      this.servers.set(topic, new Set([peer]));
      for (const other of this.topics.keys()) if (other !== peer) notify(other, topic, true);
      return true;
    }
    // The one server so far had nobody else to send to; now it has.
    if (servers.size === 1) for (const only of servers) notify(only, topic, true);
    servers.add(peer);
    return false;
  }

  /** `peer` serves `topic` no more; true when it was the last one (the fleet stops serving it). */
  unserve(peer: P, topic: string, notify: Notify<P>): boolean {
    const mine = this.topics.get(peer);
    const servers = this.servers.get(topic);
    if (!mine?.delete(topic) || !servers) return false;
    servers.delete(peer);
    if (servers.size === 0) {
      this.servers.delete(topic);
      for (const other of this.topics.keys()) if (other !== peer) notify(other, topic, false);
      return true;
    }
    if (servers.size === 1) for (const only of servers) notify(only, topic, false);
    return false;
  }

  /** The peer went away: it serves nothing. Returns the topics nobody serves any more. */
  leave(peer: P, notify: Notify<P>): string[] {
    const mine = this.topics.get(peer);
    if (!mine) return [];
    const unserved = [...mine].filter((topic) => this.unserve(peer, topic, notify));
    this.topics.delete(peer);
    return unserved;
  }

  /** The peers serving `topic`, or undefined when none does. Not to be changed by the caller. */
  serversOf(topic: string): ReadonlySet<P> | undefined {
    return this.servers.get(topic);
  }

  /** How many topics `peer` serves. */
  topicCount(peer: P): number {
    return this.topics.get(peer)?.size ?? 0;
  }

  /** Distinct topics served by at least one peer. */
  get servedTopics(): number {
    return this.servers.size;
  }

  /** Every topic served, for resubscribing a broker that came back. */
  allTopics(): IterableIterator<string> {
    return this.servers.keys();
  }
}

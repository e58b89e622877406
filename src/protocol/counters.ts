/**
 * A worker's counters: plain numbers bumped on the hot path, sent to the primary once a second.
 * Totals only grow (Prometheus counters); `connectionsOpen` is a gauge.
 */
export interface Counters {
  connectionsOpen: number;
  connectionsTotal: number;
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
  /** send() found the socket's buffer already non-empty (uWS status 0) or over the limit (status 2). */
  backpressureEvents: number;
  /** Handshakes answered 503 while draining. */
  rejectedHandshakes: number;
  /** `fleet.publish` calls made in this worker. */
  published: number;
  /** Publishes from other workers and hosts handed to this worker's subscribers. */
  delivered: number;
  /** Publishes that could not leave this worker: its bus connection was down (at most once). */
  dropped: number;
  /** Topics with at least one subscriber in this worker now (a gauge): what it told the hub it serves. */
  topics: number;
  /** Publishes that stayed in this worker: no other worker (and no broker) served their topic. */
  kept: number;
  /** Close codes seen, by code (1000, 1001, 1006, 1009...). */
  closeCodes: Record<string, number>;
  /** Handshakes refused, by reason (origin, max-connections, conns-per-ip, handshake-rate, authorize...). */
  refused: Record<string, number>;
  /** With --broker (no --history) the worker is on Redis itself: its side of the broker's counts. */
  broker?: BrokerCounts;
}

/**
 * The broker's counts: the primary's, or with workers on Redis themselves (docs/publish.md, "Workers on Redis") the
 * sum of its workers', each of which subscribes, publishes and counts on its own.
 */
export interface BrokerCounts {
  /** Topics subscribed on the broker: those some worker of this fleet serves (once per worker serving it). */
  subscriptions: number;
  /** Publishes of this fleet's workers sent to the broker. */
  published: number;
  /** Publishes of other fleets received from the broker and given to this fleet's workers (once per worker). */
  received: number;
  /** Publishes lost because the broker was unreachable when they were made (at most once). */
  dropped: number;
  /**
   * Publishes of other fleets this fleet missed: gaps in an origin's numbering of a topic, as when a Cluster shard
   * fails over and its new primary has this fleet's subscription only later (at most once; docs/publish.md).
   */
  lost: number;
  errors: number;
  reconnects: number;
}

const BROKER_COUNTS = ["subscriptions", "published", "received", "dropped", "lost", "errors", "reconnects"] as const;

/** Broker counts of nothing yet. */
export function emptyBrokerCounts(): BrokerCounts {
  return { subscriptions: 0, published: 0, received: 0, dropped: 0, lost: 0, errors: 0, reconnects: 0 };
}

/** The workers' broker counts summed; undefined when none is on Redis itself. */
export function sumBrokerCounts(all: Iterable<Counters | undefined>): BrokerCounts | undefined {
  let total: BrokerCounts | undefined;
  for (const each of all) {
    if (!each?.broker) continue;
    total ??= emptyBrokerCounts();
    for (const key of BROKER_COUNTS) total[key] += each.broker[key];
  }
  return total;
}

export function createCounters(): Counters {
  return {
    connectionsOpen: 0,
    connectionsTotal: 0,
    messagesIn: 0,
    bytesIn: 0,
    messagesOut: 0,
    bytesOut: 0,
    backpressureEvents: 0,
    rejectedHandshakes: 0,
    published: 0,
    delivered: 0,
    dropped: 0,
    topics: 0,
    kept: 0,
    closeCodes: {},
    refused: {},
  };
}

export function snapshotCounters(counters: Counters): Counters {
  const copy = { ...counters, closeCodes: { ...counters.closeCodes }, refused: { ...counters.refused } };
  if (counters.broker) copy.broker = { ...counters.broker };
  return copy;
}

function addCounts(total: Record<string, number>, each: Record<string, number> | undefined): void {
  for (const [key, count] of Object.entries(each ?? {})) total[key] = (total[key] ?? 0) + count;
}

/** Sums workers' counters for the fleet: pure, tested without workers. */
export function sumCounters(all: Iterable<Counters>): Counters {
  const total = createCounters();
  for (const each of all) {
    total.connectionsOpen += each.connectionsOpen;
    total.connectionsTotal += each.connectionsTotal;
    total.messagesIn += each.messagesIn;
    total.bytesIn += each.bytesIn;
    total.messagesOut += each.messagesOut;
    total.bytesOut += each.bytesOut;
    total.backpressureEvents += each.backpressureEvents;
    total.rejectedHandshakes += each.rejectedHandshakes;
    total.published += each.published;
    total.delivered += each.delivered;
    total.dropped += each.dropped;
    total.topics += each.topics ?? 0;
    total.kept += each.kept ?? 0;
    addCounts(total.closeCodes, each.closeCodes);
    // A worker of an older build, still draining through a rolling upgrade, reports no refusals.
    addCounts(total.refused, each.refused);
  }
  return total;
}

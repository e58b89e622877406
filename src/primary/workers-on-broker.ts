import type { RedisBroker } from "../broker/redis-broker.js";
import { newFleetOrigin } from "../protocol/broker-origin.js";
import type { BrokerStatus } from "../protocol/control.js";
import { type Counters, emptyBrokerCounts, sumBrokerCounts } from "../protocol/counters.js";

/** What each built-in worker is told to be on Redis itself with: the --broker URL and this fleet's origin. */
export interface WorkersOnBroker {
  readonly url: string;
  readonly fleetOrigin: string;
}

/**
 * `--broker` without --history: the workers publish and subscribe on Redis themselves, and the primary keeps its
 * connection (checked at start, exit 2 if unreachable) for the state shown in status. With --history the hub
 * sequences through Redis, the primary being the fleet's one peer there: undefined.
 */
export function workersOnBroker(url: string | undefined, history: unknown): WorkersOnBroker | undefined {
  return url !== undefined && !history ? { url, fleetOrigin: newFleetOrigin() } : undefined;
}

/** The broker in `wsfleet status` and /metrics: the primary's connection, with its workers' counts summed when on it. */
export function brokerStatus(
  broker: RedisBroker | undefined,
  onBroker: WorkersOnBroker | undefined,
  workers: Iterable<Counters | undefined>,
): BrokerStatus | undefined {
  if (!broker) return undefined;
  return onBroker ? broker.status(sumBrokerCounts(workers) ?? emptyBrokerCounts()) : broker.status();
}

import type { Logger } from "../log/logger.js";
import type { BrokerOpening, RedisBroker } from "./redis-broker.js";

/**
 * `--broker`: one Redis (`redis://`, `rediss://`) or a Redis Cluster with sharded pub/sub (`redis+cluster://`).
 * ioredis is loaded here, only with a broker: without one the primary's heap (and each of its GCs) stays smaller.
 */
export async function connectBroker(
  url: string,
  name: string,
  logger: Logger,
  opening: BrokerOpening = {},
): Promise<RedisBroker> {
  if (/^rediss?\+cluster:\/\//.test(url.trim())) {
    const { connectCluster } = await import("./redis-cluster-broker.js");
    return connectCluster(url, name, logger, opening);
  }
  const { RedisBroker } = await import("./redis-broker.js");
  return RedisBroker.connect(url, name, logger, opening);
}

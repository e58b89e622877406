import type { Logger } from "../log/logger.js";
import { RedisBroker } from "./redis-broker.js";
import { connectCluster } from "./redis-cluster-broker.js";

/** `--broker`: one Redis (`redis://`, `rediss://`) or a Redis Cluster with sharded pub/sub (`redis+cluster://`). */
export function connectBroker(url: string, name: string, logger: Logger): Promise<RedisBroker> {
  return /^rediss?\+cluster:\/\//.test(url.trim())
    ? connectCluster(url, name, logger)
    : RedisBroker.connect(url, name, logger);
}

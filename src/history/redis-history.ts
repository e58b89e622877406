import type { Cluster, Redis } from "ioredis";
import type { PubSubFlavour } from "../bus/redis-broker.js";
import { RedisHistoryStore } from "./redis-store.js";
import type { HistoryStore } from "./store.js";

/**
 * The origin the store's script puts before each sequenced message: no fleet's (those are random), so every fleet,
 * this one too, takes it from the broker; with --history a fleet's own publishes come back to it from Redis, sequenced.
 */
const SEQUENCED_ORIGIN = Buffer.alloc(8);

/** `--history` with `--broker`: the Redis store on the broker's connection, its size, and whether Redis is up. */
export function redisHistory(
  broker: { historyAccess(): { client: Redis | Cluster; flavour: PubSubFlavour; ready: () => boolean } },
  name: string,
  history: { size: number; ttlSecs: number },
): [HistoryStore, number, () => boolean, { touch(topicKey: string): Promise<unknown>; everyMs: number }] {
  const { client, flavour, ready } = broker.historyAccess();
  const store = new RedisHistoryStore(client, name, history.size, Math.max(1, Math.ceil(history.ttlSecs)), {
    prefix: SEQUENCED_ORIGIN,
    flavour,
  });
  // Renewed three times a TTL, so a served topic never expires between two renewals.
  const keepAlive = { touch: (topicKey: string) => store.touch(topicKey), everyMs: (history.ttlSecs * 1000) / 3 };
  return [store, history.size, ready, keepAlive];
}

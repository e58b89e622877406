import type { Cluster, Redis } from "ioredis";
import { type PubSubFlavour, SEQUENCED_PREFIX } from "../broker/redis-broker.js";
import { RedisHistoryStore } from "./redis-store.js";
import type { HistoryStore } from "./store.js";

/** `--history` with `--broker`: the Redis store on the broker's connection, its size, and whether Redis is up. */
export function redisHistory(
  broker: { historyAccess(): { client: Redis | Cluster; flavour: PubSubFlavour; ready: () => boolean } },
  name: string,
  history: { size: number; ttlSecs: number },
): [HistoryStore, number, () => boolean, { touch(topicKey: string): Promise<unknown>; everyMs: number }] {
  const { client, flavour, ready } = broker.historyAccess();
  const store = new RedisHistoryStore(client, name, history.size, Math.max(1, Math.ceil(history.ttlSecs)), {
    // No fleet's origin: every fleet takes the sequenced messages from the broker, its own too.
    prefix: SEQUENCED_PREFIX,
    flavour,
  });
  // Renewed three times a TTL, so a served topic never expires between two renewals.
  const keepAlive = { touch: (topicKey: string) => store.touch(topicKey), everyMs: (history.ttlSecs * 1000) / 3 };
  return [store, history.size, ready, keepAlive];
}

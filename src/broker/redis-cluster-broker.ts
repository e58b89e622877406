import { Cluster } from "ioredis";
import { wsfleetError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { type BrokerOpening, type PubSubFlavour, RedisBroker, redactUrl } from "./redis-broker.js";

/** As for one Redis: back-off capped at 1 s, 3 s to answer at start. */
const MAX_RECONNECT_DELAY_MS = 1000;
const CONNECT_TIMEOUT_MS = 3000;
/**
 * How often the client asks the cluster who owns which slot. ioredis refreshes on MOVED and on "Connection is closed",
 * but a dead primary's connection refuses with "Stream isn't writeable" (no offline queue: at most once), so without
 * this a promoted replica would never be found.
 */
const SLOTS_REFRESH_MS = 1000;
/** After the shard subscribers change, every topic is subscribed again this soon, and after this quiet time again. */
const RESUBSCRIBE_SOON_MS = 100;
const RESUBSCRIBE_SETTLE_MS = 1000;

/**
 * Sharded pub/sub (Redis 7): SPUBLISH and SSUBSCRIBE reach only the shard that owns the channel's hash slot, so each
 * topic lives on one shard and adding shards adds capacity; plain PUBLISH would be broadcast over the whole cluster
 * bus. A channel per topic, the topic in a hash tag (`wsfleet:<name>:{<topic>}`), so keys of the same topic (its
 * history, say `wsfleet:<name>:{<topic>}:log`) are on the same shard.
 */
export const SHARDED_PUB_SUB: PubSubFlavour = {
  publish: "spublish",
  subscribe: "ssubscribe",
  unsubscribe: "sunsubscribe",
  message: "smessageBuffer",
  channel: (name, topic) => Buffer.concat([Buffer.from(`wsfleet:${name}:{`), topic, Buffer.from("}")]),
};

interface ClusterUrl {
  seeds: { host: string; port: number }[];
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
}

/** `redis+cluster://[user:password@]host:port,host:port,…` (or `rediss+cluster://`), already validated by settings. */
function parseClusterUrl(url: string): ClusterUrl {
  const match = /^(rediss?)\+cluster:\/\/(?:([^@]*)@)?(.+)$/.exec(url.trim());
  if (!match) throw new Error(`not a redis+cluster:// URL: ${redactUrl(url)}`);
  const [, scheme, auth, hosts] = match as unknown as [string, string, string | undefined, string];
  const seeds = hosts
    .replace(/\/.*$/, "")
    .split(",")
    .map((each) => {
      const seed = new URL(`redis://${each.trim()}`);
      return { host: seed.hostname.replace(/^\[|\]$/g, ""), port: Number(seed.port || 6379) };
    });
  const credentials = auth === undefined ? undefined : new URL(`redis://${auth}@h`);
  return {
    seeds,
    tls: scheme === "rediss",
    username: credentials?.username ? decodeURIComponent(credentials.username) : undefined,
    password: credentials?.password ? decodeURIComponent(credentials.password) : undefined,
  };
}

/**
 * `--broker redis+cluster://…`: the same broker as for one Redis, on ioredis' Cluster client with its sharded
 * subscribers (one subscriber connection per shard primary). The client follows MOVED, and after a failover
 * resubscribes each channel on the shard's new primary; what is published on that shard meanwhile is lost (at most
 * once) and counted as dropped on the publishing side.
 */
export async function connectCluster(
  url: string,
  name: string,
  logger: Logger,
  opening: BrokerOpening = {},
): Promise<RedisBroker> {
  const { seeds, tls, username, password } = parseClusterUrl(url);
  const cluster = new Cluster(seeds, {
    lazyConnect: true,
    shardedSubscribers: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    clusterRetryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
    slotsRefreshInterval: SLOTS_REFRESH_MS,
    // No delayed retries: a publish retried 100 ms later overtakes none of its topic's later ones only by luck (seen:
    // 147-153 delivered after 155). Failing is at most once and counted; late would be out of order.
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    retryDelayOnTryAgain: 0,
    redisOptions: {
      username,
      password,
      tls: tls ? {} : undefined,
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
    },
  });
  if (opening.wait !== false) await waitForCluster(cluster, url);
  const broker = new RedisBroker(url, name, cluster, cluster, logger, SHARDED_PUB_SUB, opening.identity);
  // Not there now: the client goes on retrying with the back-off; "ready" subscribes what is served by then.
  if (opening.wait === false) cluster.connect().catch(() => {});
  // After a failover ioredis resubscribes each slot's channels on the new primary, but under load it was seen to miss
  // one, whose room then lost 0.6-1.9 s more than the others until a resubscribe 1 s after the subscribers settled
  // (2 runs in 6 of the failover test). So ask again for all 100 ms after they are ready (no such lag in 9 runs), and
  // once more when they have settled.
  let soon: NodeJS.Timeout | undefined;
  let settle: NodeJS.Timeout | undefined;
  cluster.on("subscribersReady", () => {
    clearTimeout(soon);
    clearTimeout(settle);
    soon = setTimeout(() => broker.resubscribe(), RESUBSCRIBE_SOON_MS).unref();
    settle = setTimeout(() => broker.resubscribe(), RESUBSCRIBE_SETTLE_MS).unref();
  });
  return broker;
}

/** Connects within CONNECT_TIMEOUT_MS, or throws exit 2 naming --broker. */
async function waitForCluster(cluster: Cluster, url: string): Promise<void> {
  let lastError: Error | undefined;
  const remember = (error: Error) => {
    lastError = error;
  };
  cluster.on("error", remember);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([cluster.connect(), timedOut]);
  } catch (error) {
    cluster.disconnect();
    throw wsfleetError("brokerUnreachable", redactUrl(url), (lastError ?? (error as Error)).message);
  } finally {
    clearTimeout(timer);
  }
  cluster.off("error", remember);
}

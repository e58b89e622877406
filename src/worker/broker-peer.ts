import type uWS from "uWebSockets.js";
import { connectBroker } from "../broker/connect-broker.js";
import { type RedisBroker, workerIdentity } from "../broker/redis-broker.js";
import type { Logger } from "../log/logger.js";
import { forEachFrame, frameTopicKey } from "../protocol/bus-frames.js";
import type { BrokerCounts, Counters } from "../protocol/counters.js";
import type { WorkerBroker } from "../protocol/worker-env.js";

/** How long a starting worker waits for Redis (the primary's own start-up check allows as long). */
const READY_WAIT_MS = 3000;

type Subscription = (topic: ArrayBuffer, newCount: number, oldCount: number) => void;

/**
 * `--broker` without --history: the worker is a Redis peer itself, as N bare uWebSockets.js processes joined by Redis
 * are, so a publish to another host wakes no primary on either side (docs/publish.md, "Workers on Redis"). It
 * publishes every publish of its own to the topic's channel, and subscribes to the channels of the topics it serves;
 * what its own fleet published there it skips (the hub gave it those already, Redis or not).
 *
 * Opened without failing: the primary checked Redis at start; a worker waits up to READY_WAIT_MS for it, and one
 * started while Redis is away then serves and retries (publishes dropped and counted meanwhile, at most once).
 */
export class BrokerPeer {
  private constructor(private readonly broker: RedisBroker) {}

  static async open(
    settings: WorkerBroker,
    server: uWS.TemplatedApp,
    counters: Counters,
    compress: boolean,
    log: (line: string) => void,
  ): Promise<BrokerPeer> {
    const logger: Logger = {
      event: (level, event, message) => log(`${level} ${event}: ${message}`),
      workerLine: () => {},
    };
    const broker = await connectBroker(settings.url, settings.name, logger, {
      identity: workerIdentity(settings.fleetOrigin),
      wait: false,
      pipelined: false,
    });
    const deliver = (topic: Uint8Array, payload: Uint8Array, isBinary: boolean) => {
      counters.delivered += 1;
      server.publish(topic, payload, isBinary, compress);
    };
    // Publishes only: a frame from Redis never holds a routing notice.
    broker.onRun((run) => forEachFrame(run.bytes, deliver));
    // Subscribed on Redis before the first client can come; Redis away: serve anyway after this, and retry.
    await broker.whenReady(READY_WAIT_MS);
    return new BrokerPeer(broker);
  }

  /** Wraps uWebSockets.js' `subscription` handler: a topic's first subscriber here subscribes its channel. */
  watch(subscription: Subscription | undefined): Subscription {
    return (topic, newCount, oldCount) => {
      if (oldCount === 0 && newCount > 0) this.broker.serve(Buffer.from(topic).toString("latin1"));
      else if (newCount === 0 && oldCount > 0) this.broker.unserve(Buffer.from(topic).toString("latin1"));
      subscription?.(topic, newCount, oldCount);
    };
  }

  /** A publish of this worker's app, as the bus frame it also is for the hub. */
  publish(frame: Buffer): void {
    this.broker.publish(frameTopicKey(frame), frame);
  }

  counts(): BrokerCounts {
    return this.broker.countsNow();
  }
}

import { randomBytes } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import { wsfleetError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { countFrames, type FrameRun } from "../protocol/bus-frames.js";
// Its side of `wsfleet status` and /metrics; messages there are publishes (frames), not Redis commands.
import type { BrokerStatus } from "../protocol/control.js";

/** Each message on Redis starts with the publishing primary's id, so a fleet skips its own publishes coming back. */
const ORIGIN_BYTES = 8;
/** Back-off between reconnection attempts: 100 ms, 200 ms, … capped at 1 s, so delivery resumes within ~1 s. */
const MAX_RECONNECT_DELAY_MS = 1000;
/** A broker that does not answer at start within this is as unreachable as one that refuses. */
const CONNECT_TIMEOUT_MS = 3000;

/** redis://:secret@host → redis://:***@host, for logs and status. */
export function redactUrl(url: string): string {
  return url.replace(
    /\/\/([^@/]*)@/,
    (_, auth: string) => `//${auth.includes(":") ? `${auth.split(":")[0]}:***` : "***"}@`,
  );
}

/**
 * `--broker redis://...`: the primary publishes its workers' frames to the channel `wsfleet:<name>` and hands what
 * other fleets of the same name publish there to its hub. Two connections (Redis' subscriber mode takes one over).
 * While Redis is away publishes are dropped, not queued (at most once, like socket.io's Redis adapter); ioredis
 * reconnects with back-off and resubscribes by itself.
 */
export class RedisBroker {
  private readonly origin = randomBytes(ORIGIN_BYTES);
  private readonly counts = { published: 0, received: 0, dropped: 0, errors: 0, reconnects: 0 };
  private lost = false;

  private constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    logger: Logger,
  ) {
    for (const client of [publisher, subscriber]) {
      client.on("error", (error: Error) => {
        this.counts.errors += 1;
        if (this.lost) return;
        this.lost = true;
        logger.event("warn", "broker-lost", `broker ${redactUrl(url)}: ${error.message}; reconnecting`);
      });
      client.on("ready", () => {
        if (client === subscriber) this.counts.reconnects += 1;
        if (!this.lost || this.state() !== "connected") return;
        this.lost = false;
        logger.event("info", "broker-back", `broker ${redactUrl(url)}: connected again`);
      });
    }
  }

  /** Connects and subscribes, or throws exit 2 naming --broker: checked before any worker starts. */
  static async connect(url: string, name: string, logger: Logger): Promise<RedisBroker> {
    const options: RedisOptions = {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
    };
    const publisher = new Redis(url, options);
    const subscriber = new Redis(url, options);
    const channel = `wsfleet:${name}`;
    let lastError: Error | undefined;
    const remember = (error: Error) => {
      lastError = error;
    };
    publisher.on("error", remember);
    subscriber.on("error", remember);
    try {
      await Promise.all([publisher.connect(), subscriber.connect()]);
      await subscriber.subscribe(channel);
    } catch (error) {
      publisher.disconnect();
      subscriber.disconnect();
      throw wsfleetError("brokerUnreachable", redactUrl(url), (lastError ?? (error as Error)).message);
    }
    publisher.off("error", remember);
    subscriber.off("error", remember);
    return new RedisBroker(url, channel, publisher, subscriber, logger);
  }

  /** Other fleets' publishes, as runs of whole frames, go to `deliver`. */
  onRun(deliver: (run: FrameRun) => void): void {
    this.subscriber.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
      if (message.length < ORIGIN_BYTES || this.origin.equals(message.subarray(0, ORIGIN_BYTES))) return;
      const bytes = message.subarray(ORIGIN_BYTES);
      const run = { bytes, count: countFrames(bytes) };
      this.counts.received += run.count;
      deliver(run);
    });
  }

  /** One PUBLISH per run: the origin id, then the frames as the worker wrote them. */
  publish(run: FrameRun): void {
    if (this.publisher.status !== "ready") {
      this.counts.dropped += run.count;
      return;
    }
    this.counts.published += run.count;
    this.publisher.publish(this.channel, Buffer.concat([this.origin, run.bytes])).catch(() => {
      this.counts.errors += 1;
      this.counts.dropped += run.count;
    });
  }

  status(): BrokerStatus {
    return { url: redactUrl(this.url), channel: this.channel, state: this.state(), ...this.counts };
  }

  close(): void {
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  private state(): BrokerStatus["state"] {
    return this.publisher.status === "ready" && this.subscriber.status === "ready" ? "connected" : "reconnecting";
  }
}

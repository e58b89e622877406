import type net from "node:net";
import { BrokerSequencer } from "../history/broker-sequencer.js";
import type { Sequencer } from "../history/sequencer.js";
import type { HistoryStore } from "../history/store.js";
import { listenPrivate } from "../net/unix-socket.js";
import { type FrameRun, FrameSplitter } from "../protocol/bus-frames.js";
import type { HubStatus } from "../protocol/control.js";
import { BusRouter, type BusUplink } from "./router.js";

/** --history with --broker: renews a served topic's keys in the store, every `everyMs`. */
interface KeepAlive {
  touch(topicKey: string): Promise<unknown>;
  readonly everyMs: number;
}

/**
 * The embedded bus: a unix socket in the primary's runtime directory that every built-in worker connects to. A run of
 * frames from one worker goes to the workers serving each frame's topic (src/bus/router.ts), as slices of the bytes
 * read, found by the frames' length and topic fields alone; no payload is parsed, copied or re-encoded. With a broker,
 * each publish also goes up to it.
 */
export class BusHub {
  private readonly peers = new Set<net.Socket>();
  private readonly router = new BusRouter();
  private readonly expiry: NodeJS.Timeout | undefined;
  private brokerSequencer: BrokerSequencer<unknown> | undefined;
  private keepAlive: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly sequencer: Sequencer | undefined,
    expireEveryMs: number,
  ) {
    server.on("connection", (socket) => this.accept(socket));
    if (sequencer) {
      this.router.sequenceWith(sequencer);
      this.expiry = setInterval(() => sequencer.expire(), expireEveryMs);
      this.expiry.unref();
    }
  }

  /**
   * Only this user's workers may publish: the socket is 0600. With --history, the sequencer gives every publish its
   * offset, and idle topics are dropped every `expireEveryMs`.
   */
  static async listen(socketPath: string, sequencer?: Sequencer, expireEveryMs = 1000): Promise<BusHub> {
    return new BusHub(await listenPrivate(socketPath), sequencer, expireEveryMs);
  }

  /** With a broker: every publish also goes to it, and it hears which topics the workers serve. */
  connectUplink(uplink: BusUplink): void {
    this.router.connectUplink(uplink);
  }

  /**
   * --history with --broker: the broker's store sequences (every fleet sees the same offsets); the embedded sequencer
   * takes over while `storeUp()` is false.
   */
  sequenceThroughBroker(store: HistoryStore, size: number, storeUp: () => boolean, keepAlive?: KeepAlive): void {
    const local = this.sequencer;
    if (!local) return;
    const sequencer = this.router.sequenceThroughBroker(
      (ports) => new BrokerSequencer(store, local, size, storeUp, ports),
    );
    this.brokerSequencer = sequencer as BrokerSequencer<unknown>;
    if (!keepAlive) return;
    // A served topic with no publish keeps its history in the store past the TTL (the TTL counts idle topics only).
    this.keepAlive = setInterval(() => {
      if (!storeUp()) return;
      for (const topic of sequencer.servedTopics()) keepAlive.touch(topic).catch(() => {});
    }, keepAlive.everyMs);
    this.keepAlive.unref();
  }

  /** A run from the broker (another fleet's publishes): to the workers serving each topic. */
  deliver(run: FrameRun): void {
    this.router.route(undefined, run);
  }

  status(): HubStatus {
    const status: HubStatus = { workers: this.peers.size, topics: this.router.servedTopics, ...this.router.counts };
    const history = this.brokerSequencer ?? this.sequencer;
    if (history) status.history = history.status();
    return status;
  }

  close(): void {
    clearInterval(this.expiry);
    clearInterval(this.keepAlive);
    this.server.close();
    for (const peer of this.peers) peer.destroy();
  }

  private accept(socket: net.Socket): void {
    const splitter = new FrameSplitter();
    this.peers.add(socket);
    this.router.join(socket);
    socket.on("data", (chunk: Buffer) => {
      let run: FrameRun;
      try {
        run = splitter.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (run.count > 0) this.router.route(socket, run);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.peers.delete(socket);
      this.router.leave(socket);
    });
  }
}

import type net from "node:net";
import { listenPrivate } from "../net/unix-socket.js";
import { type FrameRun, FrameSplitter } from "../protocol/bus-frames.js";
import type { HubStatus } from "../protocol/control.js";

/** A worker that has this much of the bus queued and unread loses what comes next (at most once, counted). */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/**
 * The embedded bus: a unix socket in the primary's runtime directory that every built-in worker connects to. A run of
 * frames from one worker goes to every other worker as it came, one write each, found by the frames' length fields
 * alone; nothing is parsed, copied or re-encoded. With a broker, the same run also goes up to it.
 */
export class BusHub {
  private readonly peers = new Set<net.Socket>();
  private forwarded = 0;
  private dropped = 0;
  private uplink: ((run: FrameRun) => void) | undefined;

  private constructor(private readonly server: net.Server) {
    server.on("connection", (socket) => this.accept(socket));
  }

  /** Only this user's workers may publish: the socket is 0600. */
  static async listen(socketPath: string): Promise<BusHub> {
    return new BusHub(await listenPrivate(socketPath));
  }

  /** With a broker: every run a worker publishes also goes to it. */
  connectUplink(uplink: (run: FrameRun) => void): void {
    this.uplink = uplink;
  }

  /** A run from the broker (another fleet's publishes): to every worker. */
  deliver(run: FrameRun): void {
    this.fanOut(undefined, run);
  }

  status(): HubStatus {
    return { workers: this.peers.size, forwarded: this.forwarded, dropped: this.dropped };
  }

  close(): void {
    this.server.close();
    for (const peer of this.peers) peer.destroy();
  }

  private accept(socket: net.Socket): void {
    const splitter = new FrameSplitter();
    this.peers.add(socket);
    socket.on("data", (chunk: Buffer) => {
      let run: FrameRun;
      try {
        run = splitter.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (run.count === 0) return;
      this.forwarded += run.count;
      this.fanOut(socket, run);
      this.uplink?.(run);
    });
    socket.on("error", () => {});
    socket.on("close", () => this.peers.delete(socket));
  }

  private fanOut(from: net.Socket | undefined, run: FrameRun): void {
    for (const peer of this.peers) {
      if (peer === from) continue;
      if (peer.writableLength > MAX_QUEUED_BYTES) this.dropped += run.count;
      else peer.write(run.bytes);
    }
  }
}

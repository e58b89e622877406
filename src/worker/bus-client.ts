import type net from "node:net";
import { connectUnix, retryEvery } from "../net/unix-socket.js";
import { FrameSplitter } from "../protocol/bus-frames.js";

/** After a lost connection to the hub; the primary's hub only goes away with the primary, which ends us too. */
const RECONNECT_DELAY_MS = 100;
/** What one read of the bus takes at most (libuv's own read size): every read reuses this one buffer. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * The worker's end of the fleet bus: one unix socket to the primary's hub. Frames written in one tick leave in one
 * writev (cork until the next tick), and whole runs of frames that arrive are handed to `onRun` in one call, as views
 * into the one read buffer (valid during the call).
 */
export class BusClient {
  private socket: net.Socket | undefined;
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket?.uncork();
  };

  private constructor(
    private readonly socketPath: string,
    private readonly onRun: (run: Buffer) => void,
    private readonly onReconnect: () => void,
  ) {}

  /** Resolves once connected, so the app's first publish already reaches the other workers. */
  static connect(socketPath: string, onRun: (run: Buffer) => void, onReconnect: () => void): Promise<BusClient> {
    const client = new BusClient(socketPath, onRun, onReconnect);
    return client.open().then(() => client);
  }

  /** Queues a frame; false when the hub is unreachable right now (the publish is lost for the other workers). */
  send(frame: Buffer): boolean {
    const { socket } = this;
    if (!socket) return false;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(this.uncork);
    }
    socket.write(frame);
    return true;
  }

  private async open(): Promise<void> {
    const splitter = new FrameSplitter(true);
    // One buffer for every read, handed over without a 'data' event: onRun uses the frames before the next read.
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket = await connectUnix(this.socketPath, {
      buffer,
      callback: (bytes) => {
        const run = splitter.push(buffer.subarray(0, bytes));
        if (run.count > 0) this.onRun(run.bytes);
        return true;
      },
    });
    this.socket = socket;
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.corked = false;
      // A new hub connection knows nothing of this worker: onReconnect tells it again what it serves.
      retryEvery(RECONNECT_DELAY_MS, () => this.open().then(this.onReconnect));
    });
  }
}

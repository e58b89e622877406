import type net from "node:net";
import { connectUnix, retryEvery } from "../net/unix-socket.js";
import type { LedgerVerdict } from "./address-ledger.js";
import { askLine, LineSplitter, parseVerdictLine, releaseLine } from "./ledger-wire.js";

/** After a lost connection to the primary's ledger; the primary going away ends the worker too. */
const RECONNECT_DELAY_MS = 100;

/**
 * The worker's end of the fleet-wide per-address limits: asks the primary's ledger before each upgrade, tells it when
 * a connection closes. While the ledger is out of reach, `ask` resolves undefined (the handshake gets a 503).
 */
export class LedgerClient {
  private socket: net.Socket | undefined;
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket?.uncork();
  };
  private nextId = 1;
  private readonly waiting = new Map<number, (verdict: LedgerVerdict | undefined) => void>();

  private constructor(private readonly socketPath: string) {}

  static connect(socketPath: string): Promise<LedgerClient> {
    const client = new LedgerClient(socketPath);
    return client.open().then(() => client);
  }

  ask(address: string): Promise<LedgerVerdict | undefined> {
    const { socket } = this;
    if (!socket) return Promise.resolve(undefined);
    const id = this.nextId;
    this.nextId = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.write(socket, askLine(id, address));
    });
  }

  release(address: string): void {
    if (this.socket) this.write(this.socket, releaseLine(address));
  }

  /** The lines of one tick leave in one write (cork until the next tick), as the bus client's frames do. */
  private write(socket: net.Socket, line: string): void {
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(this.uncork);
    }
    socket.write(line);
  }

  private async open(): Promise<void> {
    const socket = await connectUnix(this.socketPath);
    const splitter = new LineSplitter();
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      for (const line of splitter.push(chunk)) {
        const reply = parseVerdictLine(line);
        if (!reply) continue;
        this.waiting.get(reply.id)?.(reply.verdict);
        this.waiting.delete(reply.id);
      }
    });
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.corked = false;
      for (const resolveWaiting of this.waiting.values()) resolveWaiting(undefined);
      this.waiting.clear();
      retryEvery(RECONNECT_DELAY_MS, () => this.open());
    });
  }
}

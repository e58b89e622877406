import type net from "node:net";
import { listenPrivate } from "../net/unix-socket.js";
import { AddressLedger, type AddressLimits } from "./address-ledger.js";
import { LineSplitter, parseWorkerLine, verdictLine } from "./ledger-wire.js";

/** Addresses with nothing open are forgotten this often. */
const SWEEP_INTERVAL_MS = 5000;
/** A worker that sends a line longer than this is not one of ours. */
const MAX_PENDING_CHARS = 64 * 1024;

/** What `wsfleet status` and /metrics show of the ledger. */
export interface LedgerStatus {
  readonly maxConnsPerIp: number | undefined;
  readonly handshakeRatePerSec: number | undefined;
  /** Client addresses the ledger holds an entry for now. */
  readonly trackedAddresses: number;
}

/**
 * The primary's side of the per-address limits without HAProxy: a unix socket (0600, in the runtime directory) that
 * every built-in worker asks before an upgrade. Each worker's connection holds what it was let in for, so a worker
 * that dies releases its connections with it and the counts stay right across the fleet.
 */
export class LedgerServer {
  private readonly ledger: AddressLedger<net.Socket>;
  private readonly sweepTimer: NodeJS.Timeout;

  private constructor(
    private readonly server: net.Server,
    private readonly limits: AddressLimits,
    private readonly now: () => number,
  ) {
    this.ledger = new AddressLedger(limits);
    server.on("connection", (socket) => this.accept(socket));
    this.sweepTimer = setInterval(() => this.ledger.sweep(this.now()), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Only this user's workers may ask: the socket is 0600, like the bus and the control socket. */
  static async listen(socketPath: string, limits: AddressLimits, now = () => performance.now()): Promise<LedgerServer> {
    return new LedgerServer(await listenPrivate(socketPath), limits, now);
  }

  status(): LedgerStatus {
    return { ...this.limits, trackedAddresses: this.ledger.trackedAddresses };
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.server.close();
  }

  private accept(socket: net.Socket): void {
    const splitter = new LineSplitter();
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      let replies = "";
      for (const line of splitter.push(chunk)) {
        const message = parseWorkerLine(line);
        if (message?.kind === "ask") {
          replies += verdictLine(message.id, this.ledger.admit(message.address, socket, this.now()));
        } else if (message?.kind === "release") this.ledger.release(message.address, socket);
      }
      if (replies !== "") socket.write(replies);
      if (chunk.length > MAX_PENDING_CHARS && !chunk.includes("\n")) socket.destroy();
    });
    socket.on("error", () => {});
    socket.on("close", () => this.ledger.dropHolder(socket));
  }
}

/**
 * Per-address limits counted for the whole fleet (`--max-conns-per-ip`, `--handshake-rate`), HAProxy's stick table
 * in spirit: one entry per client address with its open connections and its handshakes in the current second. The
 * primary keeps one ledger; every worker asks it before an upgrade. Pure: time comes in as `nowMs`.
 */

export interface AddressLimits {
  /** Open connections one address may hold across the fleet; undefined: no limit. */
  readonly maxConnsPerIp: number | undefined;
  /** Handshakes one address may start per second across the fleet; undefined: no limit. */
  readonly handshakeRatePerSec: number | undefined;
}

export type LedgerVerdict =
  | { readonly admit: true }
  | { readonly admit: false; readonly reason: "conns-per-ip" }
  | { readonly admit: false; readonly reason: "handshake-rate"; readonly retryAfterSecs: number };

interface AddressEntry {
  open: number;
  /** The second of handshakes being counted starts at the first handshake after the last one ended. */
  windowStartMs: number;
  handshakes: number;
}

const RATE_WINDOW_MS = 1000;
const ADMIT: LedgerVerdict = Object.freeze({ admit: true });
const TOO_MANY_CONNECTIONS: LedgerVerdict = Object.freeze({ admit: false, reason: "conns-per-ip" });

/** `H` is whoever holds the connections (a worker's socket): when it goes, what it held goes with it. */
export class AddressLedger<H> {
  private readonly entries = new Map<string, AddressEntry>();
  private readonly holders = new Map<H, Map<string, number>>();

  constructor(private readonly limits: AddressLimits) {}

  /**
   * One handshake from `address`: counted against the rate whatever the outcome (as HAProxy's conn_rate counts every
   * connection), and when admitted, one open connection held by `holder` until `release`.
   */
  admit(address: string, holder: H, nowMs: number): LedgerVerdict {
    let entry = this.entries.get(address);
    if (!entry) {
      entry = { open: 0, windowStartMs: nowMs, handshakes: 0 };
      this.entries.set(address, entry);
    }
    const { maxConnsPerIp, handshakeRatePerSec } = this.limits;
    if (nowMs - entry.windowStartMs >= RATE_WINDOW_MS) {
      entry.windowStartMs = nowMs;
      entry.handshakes = 0;
    }
    entry.handshakes += 1;
    if (handshakeRatePerSec !== undefined && entry.handshakes > handshakeRatePerSec) {
      const retryAfterSecs = Math.max(1, Math.ceil((entry.windowStartMs + RATE_WINDOW_MS - nowMs) / 1000));
      return { admit: false, reason: "handshake-rate", retryAfterSecs };
    }
    if (maxConnsPerIp !== undefined && entry.open >= maxConnsPerIp) return TOO_MANY_CONNECTIONS;
    entry.open += 1;
    let held = this.holders.get(holder);
    if (!held) {
      held = new Map();
      this.holders.set(holder, held);
    }
    held.set(address, (held.get(address) ?? 0) + 1);
    return ADMIT;
  }

  /** A connection `admit` let in has closed (or its upgrade never happened). Unknown releases are ignored. */
  release(address: string, holder: H): void {
    const held = this.holders.get(holder);
    const count = held?.get(address);
    if (!held || count === undefined) return;
    if (count <= 1) held.delete(address);
    else held.set(address, count - 1);
    const entry = this.entries.get(address);
    if (entry) entry.open -= 1;
  }

  /** The holder is gone (its worker exited): every connection it held is released. */
  dropHolder(holder: H): void {
    const held = this.holders.get(holder);
    if (!held) return;
    this.holders.delete(holder);
    for (const [address, count] of held) {
      const entry = this.entries.get(address);
      if (entry) entry.open -= count;
    }
  }

  /** Forgets addresses with nothing open and no handshake in the last second, so the table stays small. */
  sweep(nowMs: number): void {
    for (const [address, entry] of this.entries) {
      if (entry.open <= 0 && nowMs - entry.windowStartMs >= RATE_WINDOW_MS) this.entries.delete(address);
    }
  }

  /** Open connections of `address` across the fleet. */
  openFrom(address: string): number {
    return this.entries.get(address)?.open ?? 0;
  }

  get trackedAddresses(): number {
    return this.entries.size;
  }
}

/**
 * The ledger's wire, between a worker and the primary over a unix socket, one text line per message:
 *
 *     worker → primary   `a <id> <address>`   may this address open one more connection?
 *                        `r <address>`        a connection it was let in for has closed
 *     primary → worker   `<id> ok` | `<id> conns` | `<id> rate <retry-after-secs>`
 *
 * Text because a line is a handful of bytes once per handshake, not per message. Pure.
 */
import type { LedgerVerdict } from "./address-ledger.js";

/** An address as the worker saw it (a peer, a PROXY header, X-Forwarded-For): one token, bounded. */
function wireAddress(address: string): string {
  return address.replace(/\s/g, "_").slice(0, 100) || "-";
}

export function askLine(id: number, address: string): string {
  return `a ${id} ${wireAddress(address)}\n`;
}

export function releaseLine(address: string): string {
  return `r ${wireAddress(address)}\n`;
}

export type WorkerLine = { kind: "ask"; id: number; address: string } | { kind: "release"; address: string };

export function parseWorkerLine(line: string): WorkerLine | undefined {
  const [kind, first, second] = line.split(" ");
  if (kind === "a" && first !== undefined && second !== undefined && /^\d+$/.test(first)) {
    return { kind: "ask", id: Number(first), address: second };
  }
  if (kind === "r" && first !== undefined) return { kind: "release", address: first };
  return undefined;
}

export function verdictLine(id: number, verdict: LedgerVerdict): string {
  if (verdict.admit) return `${id} ok\n`;
  return verdict.reason === "conns-per-ip" ? `${id} conns\n` : `${id} rate ${verdict.retryAfterSecs}\n`;
}

export function parseVerdictLine(line: string): { id: number; verdict: LedgerVerdict } | undefined {
  const [first, code, secs] = line.split(" ");
  const id = Number(first);
  if (!Number.isInteger(id)) return undefined;
  if (code === "ok") return { id, verdict: { admit: true } };
  if (code === "conns") return { id, verdict: { admit: false, reason: "conns-per-ip" } };
  if (code === "rate") {
    return { id, verdict: { admit: false, reason: "handshake-rate", retryAfterSecs: Math.max(1, Number(secs) || 1) } };
  }
  return undefined;
}

/** Cuts a byte stream into whole lines, keeping a partial one for the next chunk. */
export class LineSplitter {
  private pending = "";

  push(chunk: string): string[] {
    const lines = (this.pending + chunk).split("\n");
    this.pending = lines.pop() ?? "";
    return lines;
  }
}

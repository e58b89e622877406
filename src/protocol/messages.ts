/** The IPC vocabulary between the primary and a built-in worker. */
import type { Counters } from "./counters.js";

export type WorkerToPrimary =
  | { type: "listening"; port: number; addresses: string[] }
  | { type: "listen-failed"; port: number; host: string }
  | { type: "stats"; counters: Counters };

/**
 * `listenersFirst`: stop accepting at once, before the drain timeout (`wsfleet upgrade`: the next generation's
 * workers share the port and take every new connection); otherwise new handshakes get 503 until the drain timeout.
 */
export type PrimaryToWorker = { type: "drain"; closeCode: number; listenersFirst?: boolean };

export function isWorkerMessage(value: unknown): value is WorkerToPrimary {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

export function isPrimaryMessage(value: unknown): value is PrimaryToWorker {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === "drain";
}

/** The IPC vocabulary between the primary and a built-in worker. */
import type { Counters } from "./counters.js";

export type WorkerToPrimary =
  | { type: "listening"; port: number; addresses: string[] }
  | { type: "listen-failed"; port: number; host: string }
  | { type: "stats"; counters: Counters };

export type PrimaryToWorker = { type: "drain"; closeCode: number };

export function isWorkerMessage(value: unknown): value is WorkerToPrimary {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

export function isPrimaryMessage(value: unknown): value is PrimaryToWorker {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === "drain";
}

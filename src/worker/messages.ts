/** The IPC vocabulary between the primary and a built-in worker. */
import type { Counters } from "./counters.js";

export type WorkerToPrimary =
  | { type: "listening"; port: number; addresses: string[] }
  | { type: "listen-failed"; port: number; host: string }
  | { type: "stats"; counters: Counters };

export type PrimaryToWorker = { type: "drain"; closeCode: number };

/** 1001 Going Away: the server is stopping. 1012 Service Restart: come back in a moment (RFC 6455 registry). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_SERVICE_RESTART = 1012;

export function isWorkerMessage(value: unknown): value is WorkerToPrimary {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

/**
 * The checks a worker makes before anything asynchronous, in order: draining, the Origin, the worker's own
 * `--max-connections`. Pure: the worker hands in what it knows, the gate names the refusal or lets the handshake on.
 */
import { type OriginRule, originAllowed, parseOriginList } from "./origin.js";
import type { RefusalReason } from "./refusals.js";

type GateReason = Extract<RefusalReason, "draining" | "origin" | "max-connections">;

export interface GateSettings {
  /** undefined: any Origin is allowed. */
  readonly allowedOrigins: readonly OriginRule[] | undefined;
  /** A handshake without an Origin header (a non-browser client) is refused too. */
  readonly requireOrigin: boolean;
  /** Connections this worker holds (open and being upgraded) before it answers 503; undefined: no limit. */
  readonly maxConnections: number | undefined;
}

/** The gate's settings from the worker's (already validated by the primary; a hand-set environment is checked here). */
export function gateSettings(settings: {
  allowedOrigins: readonly string[];
  requireOrigin: boolean;
  maxConnections: number | undefined;
}): GateSettings {
  return Object.freeze({
    allowedOrigins: settings.allowedOrigins.length > 0 ? parseOriginList(settings.allowedOrigins.join(",")) : undefined,
    requireOrigin: settings.requireOrigin,
    maxConnections: settings.maxConnections,
  });
}

/** `origin` is the header's value, "" when absent; `connections` counts open ones and those being upgraded. */
export function gateRefusal(
  gate: GateSettings,
  draining: boolean,
  connections: number,
  origin: string,
): GateReason | undefined {
  if (draining) return "draining";
  // Before the connection limit, so a foreign page is told 403 whether or not the worker is full.
  if (origin === "") {
    if (gate.requireOrigin) return "origin";
  } else if (gate.allowedOrigins && !originAllowed(gate.allowedOrigins, origin)) return "origin";
  if (gate.maxConnections !== undefined && connections >= gate.maxConnections) return "max-connections";
  return undefined;
}

/** Whether this worker is full: `/healthz` says so, and HAProxy sends new clients elsewhere. */
export function isFull(gate: GateSettings, open: number): boolean {
  return gate.maxConnections !== undefined && open >= gate.maxConnections;
}

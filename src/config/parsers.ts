/** Parsers for option values: each one names the option, the value and what would be right when it fails. */
import { invalidOption } from "../errors.js";
import { MAX_PORT } from "../protocol/worker-env.js";

export function parseInteger(option: string, value: string, min: number, max: number, hint: string): number {
  const trimmed = value.trim();
  const parsed = /^[+]?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw invalidOption(option, value, hint);
  }
  return parsed;
}

export function parseSeconds(option: string, value: string, min: number, hint: string): number {
  const trimmed = value.trim();
  const parsed = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isFinite(parsed) || parsed < min || parsed > 86_400) {
    throw invalidOption(option, value, hint);
  }
  return parsed;
}

export function parsePort(option: string, value: string): number {
  return parseInteger(option, value, 1, MAX_PORT, `a port from 1 to ${MAX_PORT}, for example ${option} 8080`);
}

/** `host:port` (or `[v6]:port`), as HAProxy's bind lines take it. */
export function parseHostPort(option: string, value: string, example: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^\s:]+)):(\d+)$/.exec(value.trim());
  const host = match?.[1] ?? match?.[2];
  if (!match?.[3] || !host) throw invalidOption(option, value, `an address and port, for example ${option} ${example}`);
  return { host, port: parsePort(option, match[3]) };
}

/** A host name or address: no spaces, not empty. */
export function parseHost(option: string, value: string, example: string): string {
  const host = value.trim();
  if (host === "" || /[\s,]/.test(host))
    throw invalidOption(option, value, `a host name or address, for example ${option} ${example}`);
  return host;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
};

/** "1048576", "64KiB", "1MiB" → bytes (binary units, as the README says). */
export function parseBytes(option: string, value: string, min: number, hint: string): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? BYTE_UNITS[match[2]?.toLowerCase() ?? ""] : undefined;
  const bytes = match && unit ? Number(match[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < min || bytes > 2 ** 31 - 1) throw invalidOption(option, value, hint);
  return bytes;
}

/** A byte count as a person writes it, the way parseBytes reads it back: 1048576 → "1MiB", 65536 → "64KiB". */
export function bytesText(bytes: number): string {
  for (const [unit, size] of [
    ["MiB", 1024 * 1024],
    ["KiB", 1024],
  ] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(option: string, value: string, choices: readonly T[], hint: string): T {
  const trimmed = value.trim() as T;
  if (!choices.includes(trimmed)) throw invalidOption(option, value, hint);
  return trimmed;
}

/** A non-empty string with its outer spaces removed. */
export function parseNonEmpty(option: string, value: string, hint: string): string {
  const trimmed = value.trim();
  if (trimmed === "") throw invalidOption(option, value, hint);
  return trimmed;
}

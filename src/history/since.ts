import type { StreamPosition } from "./store.js";

/** A position as a client may send it back: numbers, or the strings of a query string. */
export interface SinceInput {
  readonly epoch: string | null | undefined;
  readonly offset: number | string | null | undefined;
}

/** What a `since` from a client means: none (live only), a position to recover after, or one no store ever gave. */
export type Since =
  | { readonly kind: "none" }
  | { readonly kind: "position"; readonly position: StreamPosition }
  | { readonly kind: "malformed" };

const MAX_EPOCH_LENGTH = 255;

/**
 * Reads a client's `{epoch, offset}`: both absent is "none"; an offset that is not a whole number of 0 or more in
 * digits (`abc`, ``, `1e3`, `-1`, `12.5`), or an epoch that is not a non-empty string, is "malformed", answered
 * `recovered: false` like any position the store cannot serve. Pure.
 */
export function readSince(since: SinceInput | undefined): Since {
  if (since === undefined || since === null) return { kind: "none" };
  const { epoch, offset } = since;
  if ((epoch === undefined || epoch === null) && (offset === undefined || offset === null)) return { kind: "none" };
  if (typeof epoch !== "string" || epoch === "" || epoch.length > MAX_EPOCH_LENGTH) return { kind: "malformed" };
  let value: number;
  if (typeof offset === "number") value = offset;
  else if (typeof offset === "string" && /^\d{1,16}$/.test(offset)) value = Number(offset);
  else return { kind: "malformed" };
  if (!Number.isSafeInteger(value) || value < 0) return { kind: "malformed" };
  return { kind: "position", position: { epoch, offset: value } };
}

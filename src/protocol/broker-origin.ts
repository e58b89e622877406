import { randomBytes } from "node:crypto";

/**
 * Each message on Redis starts with its publisher's origin: a primary's (random, all its own), or with workers on
 * Redis themselves (--broker without --history) the fleet's first FLEET_BYTES, the same for all its workers, and the
 * worker's own last bytes. A fleet skips what its own fleet published (its hub delivered that already).
 */
export const ORIGIN_BYTES = 8;
export const FLEET_BYTES = 6;

/** A new fleet's origin, as hex (WSFLEET_BROKER_FLEET): random, so fleets of the same name tell each other apart. */
export function newFleetOrigin(): string {
  return randomBytes(FLEET_BYTES).toString("hex");
}

/** WSFLEET_BROKER_FLEET as a worker reads it, or an error naming it. */
export function parseFleetOrigin(hex: string): Buffer {
  if (!new RegExp(`^[0-9a-f]{${FLEET_BYTES * 2}}$`).test(hex)) {
    throw new Error(
      `WSFLEET_BROKER_FLEET must be ${FLEET_BYTES * 2} hex digits (the fleet's origin), got ${JSON.stringify(hex)}`,
    );
  }
  return Buffer.from(hex, "hex");
}

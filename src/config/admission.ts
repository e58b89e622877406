/**
 * The admission slice of the options: who may connect (`--allowed-origins`, `--require-origin`), how many per worker
 * (`--max-connections`) and per client address (`--max-conns-per-ip`, `--handshake-rate`). Pure.
 */
import type { AddressLimits } from "../admission/address-ledger.js";
import { invalidOption } from "../errors.js";
import type { RawOptions } from "./settings.js";
import { settingValue } from "./values.js";

/** What the built-in workers check themselves, in every mode. */
export interface WorkerAdmission {
  readonly allowedOrigins: readonly string[];
  readonly requireOrigin: boolean;
  readonly maxConnections: number | undefined;
}

/** undefined without --max-conns-per-ip and --handshake-rate. */
export function validateAddressLimits(raw: RawOptions): AddressLimits | undefined {
  const maxConnsPerIp = settingValue(raw, "maxConnsPerIp");
  const handshakeRatePerSec = settingValue(raw, "handshakeRate");
  if (maxConnsPerIp === undefined && handshakeRatePerSec === undefined) return undefined;
  return Object.freeze({ maxConnsPerIp, handshakeRatePerSec });
}

/**
 * The worker's checks, and the per-address limits: enforced by HAProxy with --haproxy, else by the built-in workers
 * through the primary's ledger, so an --exec program (which has neither) may only have them behind --haproxy.
 */
export function validateAdmission(
  raw: RawOptions,
  fleet: { readonly exec: boolean; readonly haproxy: boolean },
): { worker: WorkerAdmission; addressLimits: AddressLimits | undefined } {
  const allowedOrigins = settingValue(raw, "allowedOrigins") ?? [];
  const maxConnections = settingValue(raw, "maxConnections");
  if (raw.requireOrigin === true && allowedOrigins.length === 0) {
    throw invalidOption(
      "--require-origin",
      true,
      "it together with --allowed-origins, the pages whose Origin is accepted, for example --allowed-origins https://app.example.com --require-origin",
    );
  }
  if (fleet.exec) {
    const stray = (
      [
        ["--allowed-origins", raw.allowedOrigins],
        ["--require-origin", raw.requireOrigin],
        ["--max-connections", raw.maxConnections],
      ] as const
    ).find(([, value]) => value !== undefined);
    if (stray) {
      throw invalidOption(
        stray[0],
        stray[1],
        "it without --exec: the built-in workers make this check, an --exec program makes its own",
      );
    }
  }
  const addressLimits = validateAddressLimits(raw);
  if (addressLimits && fleet.exec && !fleet.haproxy) {
    const option = raw.maxConnsPerIp !== undefined ? "--max-conns-per-ip" : "--handshake-rate";
    throw invalidOption(
      option,
      raw.maxConnsPerIp ?? raw.handshakeRate,
      "it with --haproxy (HAProxy's stick tables enforce it) or without --exec (the built-in workers enforce it)",
    );
  }
  return {
    worker: Object.freeze({
      allowedOrigins: Object.freeze([...allowedOrigins]),
      requireOrigin: raw.requireOrigin === true,
      maxConnections,
    }),
    addressLimits,
  };
}

import path from "node:path";
import { LedgerServer } from "../admission/ledger-server.js";
import type { Options } from "../config/validate.js";
import type { AddressLimitsStatus } from "../protocol/control.js";

/** The ledger's socket in the primary's runtime directory. */
const LEDGER_SOCKET = "ledger.sock";

/**
 * `--max-conns-per-ip` / `--handshake-rate`: with --haproxy, HAProxy's stick table enforces them (haproxy/config.ts)
 * and the workers need nothing; without it, the primary keeps one ledger that every built-in worker asks, so the
 * counts are the fleet's, not one worker's.
 */
export async function startAddressLimits(
  options: Options,
  runtimeDir: string,
): Promise<{ ledgerPath: string | undefined; status(): AddressLimitsStatus } | undefined> {
  const limits = options.addressLimits;
  if (!limits) return undefined;
  if (options.haproxy) return { ledgerPath: undefined, status: () => ({ ...limits, enforcedBy: "haproxy" }) };
  const ledgerPath = path.join(runtimeDir, LEDGER_SOCKET);
  const ledger = await LedgerServer.listen(ledgerPath, limits);
  return { ledgerPath, status: () => ({ ...ledger.status(), enforcedBy: "ledger" }) };
}

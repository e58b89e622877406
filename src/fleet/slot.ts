import type { PortsOptions } from "../config/validate.js";
import { processName } from "../protocol/naming.js";

/** A worker slot: its index, the Supervisor-style process name (also its server name in a balancer) and its port. */
export interface Slot {
  readonly index: number;
  readonly name: string;
  readonly port: number;
}

/** Slot `index` of program `programName`: consecutive ports count up from the base, a shared port is everyone's. */
export function slotFor(programName: string, ports: PortsOptions, index: number): Slot {
  return Object.freeze({
    index,
    name: processName(programName, index),
    port: ports.kind === "shared" ? ports.port : ports.basePort + index,
  });
}

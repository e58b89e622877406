import { type ChildProcess, fork, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FleetOptions } from "../config/validate.js";
import { encodeWorkerEnv } from "../protocol/worker-env.js";
import type { Slot } from "./slot.js";

export type Spawner = (slot: Slot) => ChildProcess;

/** The primary's unix sockets a built-in worker connects to: the bus, and the per-address ledger. */
export interface WorkerSockets {
  readonly busPath: string | undefined;
  readonly ledgerPath: string | undefined;
  /** `--history <n>` (0: off): the bus's publishes are sequenced by the hub, and subscribers can recover. */
  readonly history?: number | undefined;
  /** `--broker` without --history: each built-in worker is on Redis itself, with the fleet's origin (hex). */
  readonly broker?: { readonly url: string; readonly fleetOrigin: string } | undefined;
}

/** What every worker, built-in or --exec, finds in its environment; `marker` names the primary for the orphan guard. */
function workerEnv(
  fleet: FleetOptions,
  slot: Slot,
  marker: Readonly<Record<string, string>>,
  sockets: WorkerSockets,
  tlsPemFile: string | undefined,
  reusePort: boolean,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Python buffers stdout when it is a pipe; unbuffered, its lines reach our log as they are written.
    PYTHONUNBUFFERED: process.env.PYTHONUNBUFFERED ?? "1",
    ...encodeWorkerEnv({
      programName: fleet.name,
      index: slot.index,
      port: slot.port,
      host: fleet.host,
      sharedPort: fleet.ports.kind === "shared",
      reusePort,
      appPath: fleet.worker.kind === "builtin" ? fleet.worker.app : undefined,
      ...sockets,
      connections: fleet.connections,
      tlsPemFile,
    }),
    ...marker,
  };
}

/**
 * The built-in uWebSockets.js worker (dist/worker.js, with an IPC channel), or any program run by /bin/sh as
 * Supervisor's `command` would be; either in its own process group. `tlsPemFile`: built-in workers serve wss://.
 */
export function workerSpawner(
  fleet: FleetOptions,
  marker: Readonly<Record<string, string>>,
  sockets: WorkerSockets,
  tlsPemFile: string | undefined,
  /** Behind HAProxy: built-in workers bind their port with SO_REUSEPORT, so an upgrade's new ones can bind it too. */
  reusePort = false,
): Spawner {
  const { worker } = fleet;
  if (worker.kind === "exec") {
    return (slot) =>
      spawn(worker.command, {
        shell: true,
        env: workerEnv(fleet, slot, marker, sockets, tlsPemFile, reusePort),
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
  }
  const script = fileURLToPath(new URL("../worker.js", import.meta.url));
  return (slot) =>
    fork(script, [], {
      env: workerEnv(fleet, slot, marker, sockets, tlsPemFile, reusePort),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      detached: true,
    });
}

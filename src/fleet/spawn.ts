import { type ChildProcess, fork, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Options } from "../options.js";
import { type Slot, supervisorEnv } from "./slot.js";

/** What every worker, built-in or --exec, finds in its environment. */
export function workerEnv(options: Options, slot: Slot): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Python buffers stdout when it is a pipe; unbuffered, its lines reach our log as they are written.
    PYTHONUNBUFFERED: process.env.PYTHONUNBUFFERED ?? "1",
    ...supervisorEnv(options.name, slot),
    WSFLEET_HOST: options.host,
    // Read by the built-in worker: how long a drain keeps open connections before closing them with 1012/1001.
    WSFLEET_DRAIN_TIMEOUT_MS: String(options.drainTimeoutMs),
  };
}

/** The built-in uWebSockets.js worker: dist/worker.js with an IPC channel, in its own process group. */
export function builtInSpawner(options: Options): (slot: Slot) => ChildProcess {
  const script = fileURLToPath(new URL("../worker.js", import.meta.url));
  return (slot) =>
    fork(script, [], {
      env: workerEnv(options, slot),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      detached: true,
    });
}

/** Any program, run by /bin/sh as Supervisor's `command` would be, in its own process group. */
export function execSpawner(options: Options, command: string): (slot: Slot) => ChildProcess {
  return (slot) =>
    spawn(command, {
      shell: true,
      env: workerEnv(options, slot),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
}

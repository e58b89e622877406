import { type ChildProcess, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import type { Options } from "../config/validate.js";
import { isGenerationReady, type Takeover, takeoverEnv, upgradeRefusal } from "./handover.js";

/** How long `wsfleet upgrade` waits for the new primary to serve, on top of its workers' start-secs. */
const NEW_GENERATION_TIMEOUT_MS = 60_000;

/** What `wsfleet upgrade` needs of this process: how it was started, and whom it takes over from, if anyone. */
export interface Generation {
  /** node, its options, the script and wsfleet's arguments, as this primary was started; its environment. */
  readonly command: GenerationCommand;
  readonly notifySocket: string | undefined;
  /** Set when this primary is the new generation of an upgrade. */
  readonly takeover: Takeover | undefined;
}

/** How the new primary is started: the same node, options and command line, from what is on disk now. */
interface GenerationCommand {
  readonly execPath: string;
  /** node's own options, the script, then wsfleet's arguments (process.execArgv, process.argv.slice(1)). */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/**
 * `wsfleet upgrade` in the old primary: starts the new primary and resolves with its pid once it says every worker is
 * RUNNING. It is started through `/bin/sh -c '… &'`, which exits at once: the new primary is orphaned, so its parent
 * is init (systemd) before it says MAINPID=, and systemd then treats it as its own main process (a main process
 * that is some other process's child is "alien" to systemd, which does not wait for it at stop and SIGKILLs it). Its
 * output goes to ours; the IPC channel, inherited through the shell, carries its one message. Rejects, with the new
 * one stopped (SIGTERM to its process group), when it goes before it is ready or is not ready within `timeoutMs`: the
 * old generation then keeps serving, untouched.
 */
function startNewGeneration(command: GenerationCommand, timeoutMs: number): Promise<{ pid: number }> {
  const shell: ChildProcess = spawn("/bin/sh", ["-c", '"$0" "$@" &', command.execPath, ...command.args], {
    detached: true,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: command.env,
  });
  // The shell's process group, which the new primary stays in (a shell without job control runs `&` in its own).
  const group = shell.pid;
  return new Promise((resolve, reject) => {
    const done = (outcome: Error | number) => {
      clearTimeout(timer);
      shell.removeAllListeners("message");
      shell.removeAllListeners("disconnect");
      shell.removeAllListeners("error");
      if (outcome instanceof Error) {
        if (group !== undefined) {
          try {
            process.kill(-group, "SIGTERM");
          } catch {}
        }
        reject(outcome);
        return;
      }
      // It outlives us: nothing of ours may keep it, or wait for it.
      if (shell.connected) shell.disconnect();
      shell.unref();
      resolve({ pid: outcome });
    };
    const timer = setTimeout(
      () => done(new Error(`the new primary was not ready within ${timeoutMs / 1000} s (stopped)`)),
      timeoutMs,
    );
    shell.on("message", (message) => {
      if (isGenerationReady(message)) done(message.pid);
    });
    // Its end of the channel closes when it exits: before it was ready, it failed.
    shell.on("disconnect", () =>
      done(new Error("the new primary exited before it was ready; its reason is in the log above")),
    );
    shell.on("error", (error) => done(new Error(`could not start the new primary: ${error.message}`)));
  });
}

/**
 * The old generation's side of `wsfleet upgrade`, as the Primary asks for it: whether this fleet can, how to start
 * the next one, and what to let go of once it serves (the pid file the commands look for, the HTTP ports).
 */
export function upgradeControls(
  options: Options,
  generation: Generation,
  place: { readonly haproxySocket: string | undefined; readonly pidFile: string; letGo(): void },
) {
  const { connections } = options.fleet;
  const { supervision } = options;
  return {
    refusal: upgradeRefusal(options),
    startNewGeneration: () =>
      startNewGeneration(
        {
          ...generation.command,
          env: takeoverEnv(
            generation.command.env,
            { fromPid: process.pid, haproxySocket: place.haproxySocket },
            generation.notifySocket,
          ),
        },
        NEW_GENERATION_TIMEOUT_MS + supervision.startSecs * 1000,
      ),
    release: async () => {
      // `wsfleet status` and the other commands find the new primary alone from now on.
      await rm(place.pidFile, { force: true });
      place.letGo();
    },
    drainMs: connections.drainTimeoutMs + connections.drainSpreadMs + supervision.stopTimeoutMs,
  };
}

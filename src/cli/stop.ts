import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { RawOptions } from "../config/settings.js";
import { wsfleetError } from "../errors.js";
import { CONTROL_REQUESTS } from "../protocol/control.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";

/** How long `wsfleet stop` waits for the process to be gone once the primary said it is exiting. */
const EXIT_WAIT_MS = 5000;

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * `wsfleet stop`: the graceful stop of SIGTERM (workers close connections with 1001, then HAProxy); waits until the
 * primary has exited and returns its exit status, like `supervisorctl shutdown` but waiting.
 */
export async function stopPrimary(raw: RawOptions): Promise<{ text: string; exitCode: number }> {
  const primary = await controlledPrimary(raw);
  const answer = JSON.parse(expectOk(await controlRequest(primary, CONTROL_REQUESTS.stop), primary)) as {
    exitCode: number;
  };
  const deadline = Date.now() + EXIT_WAIT_MS;
  while (isRunning(primary.pid)) {
    if (Date.now() > deadline) {
      throw wsfleetError("primaryDidNotExit", primary.pid);
    }
    await sleep(20);
  }
  return { text: `primary ${primary.pid} stopped, exit status ${answer.exitCode}`, exitCode: answer.exitCode };
}

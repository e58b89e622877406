import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { FIXTURES, SYSTEM_PYTHON, TIMEOUT_FACTOR, within } from "./fleet.js";

/**
 * Python websockets' client (test/fixtures/py_admission.py) on `url`, one command at a time: `await client.open(20,
 * "127.0.0.2")` resolves with `{ statuses: { "101": 10, "429": 10 }, retryAfter, held }`. Killed when the test ends.
 */
export function pythonAdmissionClient(t, url) {
  const child = spawn(SYSTEM_PYTHON, [path.join(FIXTURES, "py_admission.py"), url], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  child.stdout.setEncoding("utf8");
  const lines = [];
  const waiters = [];
  let pending = "";
  child.stdout.on("data", (chunk) => {
    pending += chunk;
    const parts = pending.split("\n");
    pending = parts.pop();
    for (const part of parts) {
      const waiter = waiters.shift();
      if (waiter) waiter(JSON.parse(part));
      else lines.push(JSON.parse(part));
    }
  });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const ask = async (command) => {
    child.stdin.write(`${command}\n`);
    const reply = lines.length > 0 ? lines.shift() : new Promise((resolve) => waiters.push(resolve));
    const answer = await within(reply, 60_000 / TIMEOUT_FACTOR, undefined);
    if (answer === undefined) throw new Error(`no answer to ${command}; python said: ${stderr}`);
    return answer;
  };
  return {
    /** `paths`: "?token=good|?token=bad" takes each path in turn. */
    open: (count, from, { origin = "-", paths = "" } = {}) => ask(`open ${count} ${from} ${origin} ${paths}`.trim()),
    close: (count, from) => ask(`close ${count} ${from}`),
    echo: () => ask("echo"),
    async exit() {
      child.stdin.write("exit\n");
      await once(child, "exit");
    },
  };
}

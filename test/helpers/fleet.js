import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePortRange } from "./ports.js";

export const PRIMARY = fileURLToPath(new URL("../../dist/primary.js", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
/** Debian's python3 has python3-websockets; a `python3` earlier on PATH (pyenv) may not. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Scales every timeout in the suite, as python websockets does, so a slow CI machine does not flake. */
export const TIMEOUT_FACTOR = Number(process.env.WSFLEET_TEST_TIMEOUT_FACTOR ?? 1);

/**
 * Runs the real CLI (`node dist/primary.js ...`) with JSON logs and collects its events.
 * Whatever happens in the test, the primary is SIGKILLed at the end; the orphan guard takes its workers along.
 */
export function startPrimary(t, args, { env = {}, json = true } = {}) {
  const child = spawn(process.execPath, [PRIMARY, ...(json ? ["--log-format", "json"] : []), ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events = [];
  const waiters = new Set();
  let stdout = "";
  let stderr = "";
  let pending = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      const event = JSON.parse(line);
      events.push(event);
      for (const waiter of waiters) waiter(event);
    }
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code, signal]) => ({ code, signal }));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  // A test context kills it when the test ends; a file-wide fleet (t = null) is killed by the file's after().
  t?.after(kill);

  /** Resolves with the first event (past or future) matching `predicate`. */
  function waitForEvent(predicate, timeoutMs = 15_000) {
    const seen = events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`timed out waiting for an event; stderr: ${stderr}\nevents: ${JSON.stringify(events, null, 1)}`),
        );
      }, timeoutMs * TIMEOUT_FACTOR);
      const check = (event) => {
        if (!predicate(event)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(event);
      };
      waiters.add(check);
    });
  }

  /** Waits until `count` distinct workers have entered RUNNING since event index `from`. */
  async function waitForRunning(count, from = 0, timeoutMs = 15_000) {
    const running = new Map();
    await waitForEvent((event) => {
      if (events.indexOf(event) < from || event.event !== "running") return false;
      running.set(event.worker, event.pid);
      return running.size >= count;
    }, timeoutMs);
    return running;
  }

  return {
    child,
    kill,
    events,
    exited,
    waitForEvent,
    waitForRunning,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

/**
 * One built-in worker on a free port of 127.0.0.1, RUNNING at once. `extraArgs` is a list, or a function of the
 * port for arguments that need it (`ports` consecutive free ports are reserved). Resolves with { port, primary, pid }.
 */
export async function startOneWorker(t, extraArgs = [], { ports = 1 } = {}) {
  const port = await freePortRange(ports);
  const extra = typeof extraArgs === "function" ? extraArgs(port) : extraArgs;
  const base = ["--workers", "1", "--base-port", String(port), "--host", "127.0.0.1", "--start-secs", "0"];
  const primary = startPrimary(t, [...base, ...extra]);
  const running = await primary.waitForRunning(1);
  return { port, primary, pid: running.get("websockets-test_00") };
}

/** Runs the CLI to completion (for argument errors). */
export async function runPrimary(args, { env = {}, timeoutMs = 15_000 } = {}) {
  const child = spawn(process.execPath, [PRIMARY, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs * TIMEOUT_FACTOR);
  const [code] = await once(child, "exit");
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Alive means running: a zombie (dead, waiting for an init that may never reap it here) counts as gone. */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves like `promise`, or with `fallback` once `timeoutMs` (scaled by TIMEOUT_FACTOR) has passed without it. */
export async function within(promise, timeoutMs, fallback = undefined) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs * TIMEOUT_FACTOR);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(condition, timeoutMs = 5000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs * TIMEOUT_FACTOR;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(intervalMs);
  }
  return condition();
}

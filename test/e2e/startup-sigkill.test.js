import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { PRIMARY, sleep, TIMEOUT_FACTOR } from "../helpers/fleet.js";
import { accepts, marked } from "../helpers/leftovers.js";
import { freePortRange } from "../helpers/ports.js";

/** Kill moments after exec, in ms: before the guard exists, while ports are checked, haproxy -c, spawns, start-secs. */
const DELAYS_MS = [0, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600];
/** The promise of issue 9: nothing left 1.5 s after the SIGKILL. */
const GRACE_MS = 1500;

test("a primary SIGKILLed at any moment of its start-up (0-600 ms, --haproxy) leaves nothing behind 1.5 s later", async (t) => {
  for (const delayMs of DELAYS_MS) {
    const base = await freePortRange(3);
    const ports = [base, base + 1, base + 2];
    const tmp = mkdtempSync(path.join(os.tmpdir(), "wsfleet-sigkill-test-"));
    t.after(() => rmSync(tmp, { recursive: true, force: true }));
    const args = ["--workers", "2", "--base-port", String(base), "--haproxy", "--frontend-port", String(base + 2)];
    const primary = spawn(process.execPath, [PRIMARY, ...args], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: "ignore",
    });
    await sleep(delayMs);
    primary.kill("SIGKILL");
    await sleep(GRACE_MS * TIMEOUT_FACTOR);
    const context = `killed ${delayMs} ms after exec`;
    assert.deepEqual(marked(primary.pid), [], `${context}: processes left`);
    for (const port of ports) assert.equal(await accepts(port), false, `${context}: port ${port} still listens`);
    assert.deepEqual(readdirSync(tmp), [], `${context}: runtime directory left`);
  }
});

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  crashDelayMs,
  DEFAULT_RESTART_POLICY,
  decideRestart,
  FRESH_HISTORY,
} from "../../dist/supervise/restart-policy.js";

const policy = { ...DEFAULT_RESTART_POLICY, startRetries: 3 };

test("failed starts back off 1 s, 2 s, 3 s, then FATAL after start-retries (Supervisor)", () => {
  let history = FRESH_HISTORY;
  const delays = [];
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const decision = decideRestart(policy, history, { wasRunning: false, uptimeMs: 10 });
    assert.equal(decision.action, "restart");
    delays.push(decision.delayMs);
    history = decision.history;
  }
  assert.deepEqual(delays, [1000, 2000, 3000]);
  const last = decideRestart(policy, history, { wasRunning: false, uptimeMs: 10 });
  assert.equal(last.action, "fatal");
  assert.match(last.reason, /4 times in a row \(start-retries 3\)/);
});

test("start-retries 0 means the first failed start is FATAL", () => {
  const decision = decideRestart({ ...policy, startRetries: 0 }, FRESH_HISTORY, { wasRunning: false, uptimeMs: 5 });
  assert.equal(decision.action, "fatal");
});

test("a crash after RUNNING restarts at once; repeated quick crashes back off ×1.5 up to 15 s (PM2)", () => {
  let history = FRESH_HISTORY;
  const delays = [];
  for (let crash = 0; crash < 16; crash += 1) {
    const decision = decideRestart(policy, history, { wasRunning: true, uptimeMs: 2000 });
    assert.equal(decision.action, "restart");
    delays.push(decision.delayMs);
    history = decision.history;
  }
  assert.deepEqual(delays.slice(0, 5), [0, 100, 150, 225, 338]);
  assert.equal(delays.at(-1), 15_000);
  assert.ok(delays.every((delay, index) => index === 0 || delay >= delays[index - 1]));
});

test("a long healthy run clears the crash count, and a good start clears failed starts", () => {
  const crashing = { failedStarts: 0, quickCrashes: 6 };
  const stable = decideRestart(policy, crashing, { wasRunning: true, uptimeMs: 60_000 });
  assert.equal(stable.delayMs, 0);
  assert.deepEqual(stable.history, { failedStarts: 0, quickCrashes: 1 });
  const afterFailures = decideRestart(
    policy,
    { failedStarts: 2, quickCrashes: 0 },
    { wasRunning: true, uptimeMs: 500 },
  );
  assert.equal(afterFailures.history.failedStarts, 0);
});

test("crashDelayMs is 0 for the first crash and capped", () => {
  assert.equal(crashDelayMs(policy, 1), 0);
  assert.equal(crashDelayMs(policy, 2), 100);
  assert.equal(crashDelayMs(policy, 100), 15_000);
});

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { eventually, FIXTURES, isAlive, startPrimary } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

const FLAKY = `${process.execPath} ${FIXTURES}flaky-app.mjs`;

test("--exec: an app that exits at once goes FATAL after the retries, with its error shown, while the others serve", async (t) => {
  const base = await freePortRange(3);
  const primary = startPrimary(
    t,
    ["--workers", "3", "--base-port", String(base), "--exec", FLAKY, "--start-secs", "0.2", "--start-retries", "1"],
    { env: { FAIL_SLOT: "websockets-test_01" } },
  );
  await primary.waitForRunning(2);
  const fatal = await primary.waitForEvent((event) => event.event === "fatal", 20_000);
  assert.equal(fatal.worker, "websockets-test_01");
  assert.match(fatal.message, /exited before it was running 2 times in a row \(start-retries 1\)/);
  assert.match(fatal.message, /exit status 3/);
  assert.match(fatal.lastOutput, /websockets-test_01: cannot start, missing configuration/);
  const backoffs = primary.events.filter((event) => event.event === "exited" && event.worker === "websockets-test_01");
  assert.deepEqual(
    backoffs.map((event) => event.delayMs),
    [1000],
  );
  // The others serve, with the Supervisor environment.
  for (const index of [0, 2]) {
    const body = await (await fetch(`http://localhost:${base + index}/`)).text();
    assert.match(body, new RegExp(`^websockets-test_0${index} \\d+ websockets-test 1$`));
  }
  assert.equal(primary.child.exitCode, null, "the primary keeps serving");
  // The worker's own lines reach the log with its name.
  assert.ok(
    primary.events.some(
      (event) => event.event === "output" && event.worker === "websockets-test_00" && /listening on/.test(event.line),
    ),
  );
});

test("--exec with a command that cannot start: FATAL with the shell's error, and the primary exits 1", async (t) => {
  const base = await freePortRange(1);
  const primary = startPrimary(t, [
    "--workers",
    "1",
    "--base-port",
    String(base),
    "--exec",
    "no-such-program-wsfleet --serve",
    "--start-retries",
    "0",
  ]);
  const fatal = await primary.waitForEvent((event) => event.event === "fatal");
  assert.match(fatal.lastOutput, /no-such-program-wsfleet: (command )?not found/);
  assert.match(fatal.message, /exit status 127/);
  assert.equal((await primary.exited).code, 1);
});

test("--exec: SIGKILL of the primary leaves no child and no grandchild of the shell behind", async (t) => {
  const base = await freePortRange(2);
  // A compound command, so /bin/sh stays as the leader and the app is its child.
  const primary = startPrimary(t, [
    "--workers",
    "2",
    "--base-port",
    String(base),
    "--start-secs",
    "0.2",
    "--exec",
    `true && ${FLAKY}`,
  ]);
  await primary.waitForRunning(2);
  const started = await primary.waitForEvent((event) => event.event === "started");
  const leaders = primary.events.filter((event) => event.event === "spawned").map((event) => event.pid);
  const members = leaders.flatMap((pgid) =>
    execFileSync("pgrep", ["-g", String(pgid)], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number),
  );
  assert.ok(members.length >= 4, `shell and app in each group: ${members}`);
  const pids = [...members, started.guardPid];
  primary.child.kill("SIGKILL");
  await primary.exited;
  assert.ok(await eventually(() => pids.every((pid) => !isAlive(pid)), 1000, 20), `left: ${pids.filter(isAlive)}`);
});

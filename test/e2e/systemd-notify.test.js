import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { eventually, FIXTURES, PRIMARY, runPrimary, startPrimary, TIMEOUT_FACTOR, within } from "../helpers/fleet.js";
import { listenNotifySocket } from "../helpers/notify-socket.js";
import { freePortRange } from "../helpers/ports.js";

const eventTimeMs = (event) => Date.parse(event.time);

test("NOTIFY_SOCKET: READY=1 after the last RUNNING, RELOADING=1 … READY=1 around SIGHUP, STOPPING=1 on SIGTERM", async (t) => {
  const notify = await listenNotifySocket(t);
  const base = await freePortRange(2);
  const primary = startPrimary(
    t,
    ["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1", "--start-secs", "1"],
    { env: { NOTIFY_SOCKET: notify.socketPath } },
  );
  const ready = await within(notify.waitFor("READY=1"), 20_000);
  assert.ok(ready, "no READY=1 within 20 s");
  const running = primary.events.filter((event) => event.event === "running");
  assert.equal(running.length, 2, "READY=1 came before both workers were RUNNING");
  assert.ok(ready.timeMs >= Math.max(...running.map(eventTimeMs)), "READY=1 arrived before the last RUNNING line");
  assert.match(ready.message, /^STATUS=2 of 2 workers RUNNING$/m);
  assert.equal(notify.messages.indexOf(ready), 0, "nothing before READY=1");

  const beforeHup = notify.messages.length;
  primary.child.kill("SIGHUP");
  const reloading = await within(notify.waitFor("RELOADING=1", beforeHup), 10_000);
  assert.ok(reloading, "no RELOADING=1 after SIGHUP");
  assert.match(reloading.message, /^STATUS=rolling restart of 2 workers$/m);
  const readyAgain = await within(notify.waitFor("READY=1", beforeHup), 30_000);
  assert.ok(readyAgain, "no READY=1 after the rolling restart");
  const done = await primary.waitForEvent((event) => event.message === "rolling restart done");
  assert.ok(readyAgain.timeMs >= eventTimeMs(done), "READY=1 before the rolling restart was done");
  assert.ok(readyAgain.timeMs >= reloading.timeMs);

  const beforeTerm = notify.messages.length;
  primary.child.kill("SIGTERM");
  const stopping = await within(notify.waitFor("STOPPING=1", beforeTerm), 10_000);
  assert.ok(stopping, "no STOPPING=1 after SIGTERM");
  const { code } = await primary.exited;
  assert.equal(code, 0);
  // Each message is followed by systemd-notify's BARRIER=1: it waits until the manager has read it.
  assert.deepEqual(
    notify.messages.map((record) => record.message.split("\n")[0]),
    ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"].flatMap((first) => [first, "BARRIER=1"]),
  );
});

test("NOTIFY_SOCKET: a worker FATAL at start holds READY=1 back (STATUS says why) until a restart brings it up", async (t) => {
  const notify = await listenNotifySocket(t);
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-test-notready-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const failFlag = path.join(dir, "broken");
  writeFileSync(failFlag, "");
  const base = await freePortRange(2);
  const primary = startPrimary(
    t,
    [
      ...["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1"],
      ...["--exec", `${process.execPath} ${FIXTURES}flaky-app.mjs`, "--start-secs", "0.2", "--start-retries", "0"],
    ],
    { env: { NOTIFY_SOCKET: notify.socketPath, FAIL_SLOT: "websockets-test_01", FAIL_WHILE_FILE: failFlag } },
  );
  const notReady = await within(notify.waitFor("STATUS=not ready: 1 of 2 workers RUNNING, 1 FATAL"), 20_000);
  assert.ok(notReady, `no 'not ready' status once the broken worker went FATAL: ${JSON.stringify(notify.messages)}`);
  const warning = await primary.waitForEvent((event) => event.event === "not-ready");
  assert.equal(warning.level, "warn");
  assert.ok(
    notify.messages.every((record) => !record.message.split("\n").includes("READY=1")),
    "READY=1 sent while a worker is FATAL",
  );

  rmSync(failFlag);
  const pid = String(primary.child.pid);
  const restarted = await runPrimary(["restart", "websockets-test_01", "--pid", pid], { timeoutMs: 30_000 });
  assert.equal(restarted.code, 0, restarted.stderr);
  const ready = await within(notify.waitFor("READY=1"), 20_000);
  assert.ok(ready, "no READY=1 once every worker was RUNNING");
  assert.match(ready.message, /^STATUS=2 of 2 workers RUNNING$/m);
});

test("JOURNAL_STREAM naming our stderr: no timestamp, a <N> priority on each line (<4> on a warning)", async (t) => {
  const logPath = path.join(os.tmpdir(), `wsfleet-test-journal-${process.pid}.log`);
  const fd = openSync(logPath, "w");
  t.after(() => {
    closeSync(fd);
    rmSync(logPath, { force: true });
  });
  const { dev, ino } = fstatSync(fd);
  const base = await freePortRange(1);
  const child = spawn(
    process.execPath,
    [PRIMARY, "--workers", "1", "--base-port", String(base), "--host", "127.0.0.1", "--start-secs", "0"],
    { env: { ...process.env, JOURNAL_STREAM: `${dev}:${ino}` }, stdio: ["ignore", "ignore", fd] },
  );
  t.after(() => child.kill("SIGKILL"));
  const log = () => readFileSync(logPath, "utf8");
  assert.ok(await eventually(() => /ready: /.test(log()), 15_000 * TIMEOUT_FACTOR), log());
  // A warning to see: the orphan guard killed (the primary says so, and starts another).
  const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/);
  const guardPid = children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("guard.js"));
  assert.ok(guardPid, "no orphan guard among the primary's children");
  process.kill(Number(guardPid), "SIGKILL");
  assert.ok(await eventually(() => /orphan guard exited/.test(log()), 5000 * TIMEOUT_FACTOR), log());
  child.kill("SIGTERM");
  assert.ok(await eventually(() => child.exitCode !== null, 10_000 * TIMEOUT_FACTOR), log());
  assert.equal(child.exitCode, 0, log());
  const lines = log().trimEnd().split("\n");
  assert.ok(lines.includes("<4>WARN orphan guard exited (SIGKILL); starting another"), log());
  assert.ok(
    lines.some((line) => line.startsWith("<6>INFO ready: 1 of 1 workers RUNNING")),
    log(),
  );
  assert.ok(
    lines.every((line) => !/\d{4}-\d\d-\d\dT\d\d:\d\d/.test(line)),
    `a timestamp is left in:\n${log()}`,
  );
});

test("--runtime-dir: the runtime dir goes there, status and reload find it there, the guard removes it after a SIGKILL", async (t) => {
  const parent = mkdtempSync(path.join(os.tmpdir(), "wsfleet-test-rundir-"));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const runtimeDir = path.join(parent, "run", "wsfleet");
  const base = await freePortRange(1);
  const primary = startPrimary(t, [
    ...["--workers", "1", "--base-port", String(base), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--runtime-dir", runtimeDir],
  ]);
  await primary.waitForEvent((event) => event.event === "ready");
  const pid = primary.child.pid;
  const entries = readdirSync(runtimeDir);
  assert.equal(entries.length, 1);
  assert.match(entries[0], new RegExp(`^wsfleet-${pid}-`));
  assert.equal(statSync(path.join(runtimeDir, entries[0])).mode & 0o777, 0o700);

  const status = await runPrimary(["status", "--json", "--runtime-dir", runtimeDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(JSON.parse(status.stdout).pid, pid);
  const reload = await runPrimary(["reload", "--runtime-dir", runtimeDir]);
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(reload.stdout, new RegExp(`^primary ${pid}: rolling restart of 1 worker done`));
  await primary.waitForEvent((event) => event.message === "rolling restart done");

  primary.child.kill("SIGKILL");
  assert.ok(await eventually(() => readdirSync(runtimeDir).length === 0, 5000), "runtime dir left after SIGKILL");
});

test("NOTIFY_SOCKET with --haproxy: READY=1 only once HAProxy runs and sees every worker UP", async (t) => {
  const notify = await listenNotifySocket(t);
  const base = await freePortRange(3);
  const primary = startPrimary(
    t,
    [
      ...["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1", "--start-secs", "0"],
      ...["--haproxy", "--frontend-host", "127.0.0.1", "--frontend-port", String(base + 2)],
    ],
    { env: { NOTIFY_SOCKET: notify.socketPath } },
  );
  const ready = await within(notify.waitFor("READY=1"), 20_000);
  assert.ok(ready, "no READY=1 within 20 s");
  const started = primary.events.find((event) => event.event === "haproxy-started");
  assert.ok(started && eventTimeMs(started) <= ready.timeMs, "READY=1 before HAProxy was started");
  assert.match(ready.message, /^STATUS=2 of 2 workers RUNNING, haproxy in front$/m);
  const status = await runPrimary(["status", "--json", "--pid", String(primary.child.pid)]);
  assert.deepEqual(JSON.parse(status.stdout).haproxy.servers, {
    "websockets-test_00": "UP",
    "websockets-test_01": "UP",
  });
});

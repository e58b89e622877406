import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { connect, roundTrip } from "../helpers/clients.js";
import {
  eventually,
  FIXTURES,
  isAlive,
  PRIMARY,
  runPrimary,
  sleep,
  startPrimary,
  TIMEOUT_FACTOR,
} from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

async function statusOf(pid) {
  const { code, stdout, stderr } = await runPrimary(["status", "--pid", String(pid), "--json"]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const upServers = (status) =>
  Object.entries(status.haproxy?.servers ?? {})
    .filter(([, state]) => state === "UP")
    .map(([name]) => name)
    .sort();

test("wsfleet scale, restart, logs -f and stop against a running --haproxy fleet", async (t) => {
  const base = await freePortRange(4);
  const frontend = base + 3;
  const primary = startPrimary(t, [
    // --host left at its default, localhost: HAProxy must get an address it can check for a server added at run time.
    ...["--workers", "2", "--base-port", String(base), "--start-secs", "0"],
    ...["--app", path.join(FIXTURES, "say-app.mjs"), "--drain-timeout", "0"],
    ...["--haproxy", "--frontend-host", "127.0.0.1", "--frontend-port", String(frontend)],
  ]);
  await primary.waitForRunning(2);
  const started = await primary.waitForEvent((event) => event.event === "haproxy-started", 20_000);
  const pid = String(primary.child.pid);
  const twoUp = await eventually(async () => upServers(await statusOf(pid)).length === 2, 5000);
  assert.ok(twoUp, JSON.stringify((await statusOf(pid)).haproxy));

  // scale up: a third worker on the next port, and HAProxy reports it UP.
  const up = await runPrimary(["scale", "3", "--pid", pid], { timeoutMs: 30_000 });
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /^scaled to 3 workers$/m);
  assert.match(up.stdout, new RegExp(`^websockets-test_02\\s+RUNNING\\s+\\d+\\s+${base + 2}\\b`, "m"));
  assert.ok(await accepts(base + 2), "the new worker serves on base + 2");
  const threeUp = await eventually(async () => upServers(await statusOf(pid)).length === 3, 5000);
  assert.ok(threeUp, JSON.stringify((await statusOf(pid)).haproxy));
  // A server added at run time starts UP before any check: only after two check intervals (inter 1s, fall 2)
  // would a failing check have taken it DOWN.
  await sleep(2500 * TIMEOUT_FACTOR);
  assert.deepEqual(upServers(await statusOf(pid)), ["websockets-test_00", "websockets-test_01", "websockets-test_02"]);

  // restart one worker: only its pid changes.
  const before = await statusOf(pid);
  const restarted = await runPrimary(["restart", "websockets-test_01", "--pid", pid], { timeoutMs: 30_000 });
  assert.equal(restarted.code, 0, restarted.stderr);
  const after = await statusOf(pid);
  const pids = (status) => status.workers.map((worker) => worker.pid);
  assert.equal(pids(after)[0], pids(before)[0]);
  assert.notEqual(pids(after)[1], pids(before)[1]);
  assert.equal(pids(after)[2], pids(before)[2]);
  assert.deepEqual(
    after.workers.map((worker) => worker.restarts),
    [0, 1, 0],
  );
  assert.match(
    restarted.stdout,
    new RegExp(`^websockets-test_01: restarted, pid ${pids(before)[1]} → ${pids(after)[1]}$`, "m"),
  );

  // Mistakes: an unknown worker (exit 1, the names it knows), a bad number (exit 2).
  const unknown = await runPrimary(["restart", "websockets-test_09", "--pid", pid]);
  assert.equal(unknown.code, 1);
  assert.match(
    unknown.stderr,
    /WSFLEET_UNKNOWN_WORKER: .*no worker named "websockets-test_09"; workers: websockets-test_00, websockets-test_01, websockets-test_02/,
  );
  const badCount = await runPrimary(["scale", "many", "--pid", pid]);
  assert.equal(badCount.code, 2);
  assert.match(
    badCount.stderr,
    /invalid value for wsfleet scale <n>: "many"; expected a whole number of workers from 1 to 1024/,
  );

  // logs -f: a line the worker prints after the follower started reaches it.
  const ws = await connect(`ws://127.0.0.1:${base}/`);
  await roundTrip(ws, "before-follow", false);
  assert.ok(
    await eventually(
      async () => /got before-follow/.test((await runPrimary(["logs", "websockets-test_00", "--pid", pid])).stdout),
      3000,
    ),
  );
  const follower = spawn(process.execPath, [PRIMARY, "logs", "websockets-test_00", "-f", "--pid", pid], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => follower.kill("SIGKILL"));
  let followed = "";
  follower.stdout.on("data", (chunk) => {
    followed += chunk;
  });
  // The last lines come first; once they are here, the follower is subscribed.
  assert.ok(await eventually(() => /^got before-follow$/m.test(followed), 5000), followed);
  assert.doesNotMatch(followed, /got after-follow/);
  assert.equal((await roundTrip(ws, "after-follow", false)).data.toString(), "after-follow");
  assert.ok(await eventually(() => /^got after-follow$/m.test(followed), 5000), followed);
  ws.close();
  // Without -f and without a name: the primary's events and every worker's lines, each line saying whose.
  const all = await runPrimary(["logs", "--pid", pid, "--lines", "200"]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^websockets-test_00 \| got after-follow$/m);
  assert.match(all.stdout, /INFO added worker websockets-test_02 on port/);

  // scale down: the last two go, their ports stop serving, HAProxy keeps only _00.
  const down = await runPrimary(["scale", "1", "--pid", pid], { timeoutMs: 30_000 });
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await accepts(base + 1), false, "base + 1 serves no more");
  assert.equal(await accepts(base + 2), false, "base + 2 serves no more");
  assert.deepEqual(Object.keys((await statusOf(pid)).haproxy.servers), ["websockets-test_00"]);

  // restart all: the rolling restart, returning once it is done.
  const single = await statusOf(pid);
  const rolled = await runPrimary(["restart", "all", "--pid", pid], { timeoutMs: 30_000 });
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.match(rolled.stdout, /^rolling restart done$/m);
  const last = await statusOf(pid);
  assert.notEqual(last.workers[0].pid, single.workers[0].pid);
  assert.equal(last.workers[0].state, "RUNNING");

  // stop: returns once the primary has exited, with its status, leaving nothing behind.
  const stopped = await runPrimary(["stop", "--pid", pid], { timeoutMs: 30_000 });
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stdout, `primary ${pid} stopped, exit status 0\n`);
  assert.equal(isAlive(Number(pid)), false, "the primary has exited when stop returns");
  assert.equal(isAlive(last.workers[0].pid), false);
  assert.equal(isAlive(last.haproxy.pid), false);
  assert.equal(existsSync(started.runtimeDir), false);
  assert.deepEqual(await primary.exited, { code: 0, signal: null });
  assert.ok(await eventually(() => follower.exitCode !== null, 2000), "logs -f ends when the primary exits");
});

test("every command without a running primary: exit 2 and the way out", async (t) => {
  const empty = mkdtempSync(path.join(os.tmpdir(), "no-primary-"));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  for (const args of [["status"], ["scale", "2"], ["restart", "all"], ["stop"], ["logs"]]) {
    const { code, stderr } = await runPrimary(args, { env: { TMPDIR: empty } });
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, /WSFLEET_NO_PRIMARY: no running wsfleet primary of this user found .*pass --pid <pid>/);
  }
});

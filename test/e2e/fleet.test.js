import assert from "node:assert/strict";
import { test } from "node:test";
import { closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, isAlive, startPrimary } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

async function startBuiltIn(t, workers, extra = []) {
  const base = await freePortRange(workers + 1);
  const primary = startPrimary(t, [
    "--workers",
    String(workers),
    "--base-port",
    String(base),
    "--start-secs",
    "0.2",
    ...extra,
  ]);
  const running = await primary.waitForRunning(workers);
  const started = await primary.waitForEvent((event) => event.event === "started");
  return { base, primary, running, guardPid: started.guardPid };
}

test("4 workers on consecutive ports echo text and binary, answer /healthz and refuse plain GET with 426", async (t) => {
  const { base, running } = await startBuiltIn(t, 4);
  assert.deepEqual([...running.keys()].sort(), [
    "websockets-test_00",
    "websockets-test_01",
    "websockets-test_02",
    "websockets-test_03",
  ]);
  for (let index = 0; index < 4; index += 1) {
    const ws = await connect(`ws://localhost:${base + index}/`);
    const text = await roundTrip(ws, "Hello!", false);
    assert.equal(text.isBinary, false);
    assert.equal(text.data.toString(), "Hello!");
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const binary = await roundTrip(ws, bytes, true);
    assert.equal(binary.isBinary, true);
    assert.deepEqual(binary.data, bytes);
    ws.close(1000);
    await closed(ws);
    const health = await fetch(`http://localhost:${base + index}/healthz`);
    assert.equal(health.status, 200);
    const plain = await fetch(`http://localhost:${base + index}/`);
    assert.equal(plain.status, 426);
    assert.equal(plain.headers.get("upgrade"), "websocket");
  }
});

test("kill -9 of a worker: the same port serves again from a new pid", async (t) => {
  const { base, primary, running } = await startBuiltIn(t, 2);
  const oldPid = running.get("websockets-test_01");
  const from = primary.events.length;
  process.kill(oldPid, "SIGKILL");
  const exited = await primary.waitForEvent(
    (event) => event.event === "exited" && event.worker === "websockets-test_01",
  );
  assert.equal(exited.signal, "SIGKILL");
  assert.equal(exited.delayMs, 0, "a crash after RUNNING restarts at once");
  const again = await primary.waitForRunning(1, from);
  const newPid = again.get("websockets-test_01");
  assert.notEqual(newPid, oldPid);
  const ws = await connect(`ws://localhost:${base + 1}/`);
  assert.equal((await roundTrip(ws, "again", false)).data.toString(), "again");
  ws.close();
});

test("SIGTERM: clients see 1001, every worker stops, the primary exits 0", async (t) => {
  const { base, primary, running, guardPid } = await startBuiltIn(t, 2);
  const clients = await Promise.all([connect(`ws://localhost:${base}/`), connect(`ws://localhost:${base + 1}/`)]);
  const closes = clients.map(closed);
  primary.child.kill("SIGTERM");
  const codes = (await Promise.all(closes)).map((close) => close.code);
  assert.deepEqual(codes, [1001, 1001]);
  assert.deepEqual(await primary.exited, { code: 0, signal: null });
  for (const pid of [...running.values(), guardPid]) {
    assert.ok(await eventually(() => !isAlive(pid), 1000), `pid ${pid} still alive`);
  }
});

test("SIGKILL of the primary: no worker and no guard is left within 1 s", async (t) => {
  const { primary, running, guardPid } = await startBuiltIn(t, 3);
  const pids = [...running.values(), guardPid];
  assert.ok(pids.every(isAlive));
  primary.child.kill("SIGKILL");
  await primary.exited;
  const gone = await eventually(() => pids.every((pid) => !isAlive(pid)), 1000, 20);
  assert.ok(gone, `still alive: ${pids.filter(isAlive).join(", ")}`);
});

test("SIGHUP: rolling restart replaces every worker one at a time; open connections get 1012", async (t) => {
  const { base, primary, running } = await startBuiltIn(t, 2);
  const clients = await Promise.all([connect(`ws://localhost:${base}/`), connect(`ws://localhost:${base + 1}/`)]);
  const closes = clients.map(closed);
  const from = primary.events.length;
  primary.child.kill("SIGHUP");
  await primary.waitForEvent((event) => event.event === "reload" && /done/.test(event.message), 20_000);
  assert.deepEqual(
    (await Promise.all(closes)).map((close) => close.code),
    [1012, 1012],
  );
  const after = primary.events.slice(from).filter((event) => event.event === "running");
  assert.deepEqual(
    after.map((event) => event.worker),
    ["websockets-test_00", "websockets-test_01"],
    "one at a time, in order",
  );
  for (const event of after) assert.notEqual(event.pid, running.get(event.worker));
  // Each replacement was RUNNING before the next worker was stopped.
  const order = primary.events
    .slice(from)
    .filter((event) => ["stopped", "running"].includes(event.event))
    .map((event) => `${event.event} ${event.worker}`);
  assert.deepEqual(order, [
    "stopped websockets-test_00",
    "running websockets-test_00",
    "stopped websockets-test_01",
    "running websockets-test_01",
  ]);
  const ws = await connect(`ws://localhost:${base + 1}/`);
  assert.equal((await roundTrip(ws, "after", false)).data.toString(), "after");
  ws.close();
});

test("SIGTTIN adds a worker on the next port, SIGTTOU removes the last one", async (t) => {
  const { base, primary } = await startBuiltIn(t, 1);
  const from = primary.events.length;
  primary.child.kill("SIGTTIN");
  const added = await primary.waitForRunning(1, from);
  assert.deepEqual([...added.keys()], ["websockets-test_01"]);
  const ws = await connect(`ws://localhost:${base + 1}/`);
  const close = closed(ws);
  primary.child.kill("SIGTTOU");
  assert.equal((await close).code, 1001);
  await primary.waitForEvent((event) => event.event === "stopped" && event.worker === "websockets-test_01");
  await assert.rejects(connect(`ws://localhost:${base + 1}/`, 1000));
});

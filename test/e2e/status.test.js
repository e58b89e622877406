import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import WebSocket from "ws";
import { connect, roundTrip } from "../helpers/clients.js";
import { eventually, isAlive, runPrimary, startPrimary } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

async function status(pid) {
  const { code, stdout, stderr } = await runPrimary(["status", "--pid", String(pid), "--json"]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

test("wsfleet status: workers and HAProxy as the primary sees them; kill -9 of each shows as a restart", async (t) => {
  const base = await freePortRange(3);
  const primary = startPrimary(t, [
    ...["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--haproxy", "--frontend-host", "127.0.0.1", "--frontend-port", String(base + 2)],
  ]);
  await primary.waitForRunning(2);
  const started = await primary.waitForEvent((event) => event.event === "haproxy-started", 20_000);
  const pid = primary.child.pid;
  const allUp = (s) => Object.values(s.haproxy?.servers ?? {}).filter((state) => state === "UP").length === 2;
  assert.ok(await eventually(async () => allUp(await status(pid)), 5000));
  const before = await status(pid);
  assert.equal(before.pid, pid);
  assert.deepEqual(
    before.workers.map((worker) => [worker.name, worker.state, worker.port, worker.restarts]),
    [
      ["websockets-test_00", "RUNNING", base, 0],
      ["websockets-test_01", "RUNNING", base + 1, 0],
    ],
  );
  assert.equal(before.haproxy.state, "RUNNING");
  assert.equal(before.haproxy.pid, started.pid);

  process.kill(before.workers[1].pid, "SIGKILL");
  process.kill(before.haproxy.pid, "SIGKILL");
  const recovered = await eventually(async () => {
    const now = await status(pid);
    return (
      now.workers[1].restarts === 1 && now.workers[1].state === "RUNNING" && now.haproxy.restarts === 1 && allUp(now)
    );
  }, 10_000);
  const after = await status(pid);
  assert.ok(recovered, JSON.stringify(after));
  assert.notEqual(after.haproxy.pid, before.haproxy.pid);
  assert.notEqual(after.workers[1].pid, before.workers[1].pid);

  // The human table, like supervisorctl status.
  const table = await runPrimary(["status", "--pid", String(pid)]);
  assert.match(table.stdout, /^NAME\s+STATE\s+PID\s+PORT\s+UPTIME\s+RESTARTS\s+CONNS\s+HAPROXY$/m);
  assert.match(
    table.stdout,
    new RegExp(
      `^websockets-test_01\\s+RUNNING\\s+${after.workers[1].pid}\\s+${base + 1}\\s+\\S+\\s+1\\s+0\\s+UP$`,
      "m",
    ),
  );
  assert.match(table.stdout, /^haproxy\s+RUNNING\s+\d+\s+-\s+-\s+1\b/m);

  // SIGKILL of the primary: the guard removes its runtime directory too.
  primary.child.kill("SIGKILL");
  await primary.exited;
  assert.ok(await eventually(() => !existsSync(started.runtimeDir) && !isAlive(after.haproxy.pid), 2000));
});

test("wsfleet status with a pid that is not a primary: exit 2 naming --pid", async () => {
  const { code, stderr } = await runPrimary(["status", "--pid", String(process.pid)]);
  assert.equal(code, 2);
  assert.match(stderr, /invalid value for --pid: "\d+"; expected the pid of a running wsfleet primary/);
});

test("--haproxy with SIGTTIN/SIGTTOU: the new worker joins the running HAProxy (and its config), the removed one leaves", async (t) => {
  const base = await freePortRange(3);
  const frontend = base + 2;
  const primary = startPrimary(t, [
    ...["--workers", "1", "--base-port", String(base), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--haproxy", "--frontend-host", "127.0.0.1", "--frontend-port", String(frontend)],
  ]);
  await primary.waitForRunning(1);
  const started = await primary.waitForEvent((event) => event.event === "haproxy-started", 20_000);
  const pid = primary.child.pid;
  primary.child.kill("SIGTTIN");
  await primary.waitForEvent((event) => event.event === "haproxy-add" && event.worker === "websockets-test_01");
  const bothUp = await eventually(async () => {
    const servers = (await status(pid)).haproxy.servers;
    return servers["websockets-test_00"] === "UP" && servers["websockets-test_01"] === "UP";
  }, 5000);
  assert.ok(bothUp, JSON.stringify((await status(pid)).haproxy));
  assert.match(
    readFileSync(`${started.runtimeDir}/haproxy.cfg`, "utf8"),
    new RegExp(`server websockets-test_01 127.0.0.1:${base + 1} check`),
  );
  // leastconn: two connections through the frontend, one after the other, land one on each worker.
  const clients = [];
  for (let index = 0; index < 2; index += 1) clients.push(await connect(`ws://127.0.0.1:${frontend}/`));
  const spread = await eventually(async () => {
    const workers = (await status(pid)).workers;
    return workers.every((worker) => worker.counters?.connectionsOpen === 1);
  }, 3000);
  assert.ok(spread, JSON.stringify((await status(pid)).workers.map((worker) => worker.counters)));
  const closeCodes = [];
  for (const [index, ws] of clients.entries()) ws.once("close", (code) => closeCodes.push({ index, code }));
  primary.child.kill("SIGTTOU");
  await primary.waitForEvent((event) => event.event === "haproxy-remove" && event.worker === "websockets-test_01");
  const after = await status(pid);
  assert.deepEqual(Object.keys(after.haproxy.servers), ["websockets-test_00"]);
  assert.deepEqual(
    after.workers.map((worker) => worker.name),
    ["websockets-test_00"],
  );
  assert.doesNotMatch(readFileSync(`${started.runtimeDir}/haproxy.cfg`, "utf8"), /websockets-test_01/);
  // The removed worker's client was closed with 1001 (going away); the other one stays open and still echoes.
  assert.ok(await eventually(() => closeCodes.length > 0, 5000), "the removed worker's client was closed");
  assert.deepEqual(
    closeCodes.map(({ code }) => code),
    [1001],
  );
  const stayed = clients[1 - closeCodes[0].index];
  assert.equal(stayed.readyState, WebSocket.OPEN);
  assert.equal((await roundTrip(stayed, "still served", false)).data.toString(), "still served");
  for (const ws of clients) ws.close();
});

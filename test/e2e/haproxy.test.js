import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { promisify } from "node:util";
import { assertGuideTranscript, closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, isAlive, PRIMARY, runPrimary } from "../helpers/fleet.js";
import { allUp, msUntilState, startHaproxyFleet } from "../helpers/haproxy.js";
import { startReconnectingClients } from "../helpers/load.js";
import { freePortRange } from "../helpers/ports.js";

const run = promisify(execFile);

test("--haproxy: the guide's Python client through the frontend, stats and /metrics; SIGTERM stops haproxy last and removes the runtime dir", async (t) => {
  const { primary, url, statsPort, started } = await startHaproxyFleet(t, 2, [], { stats: true });
  await assertGuideTranscript(url);
  const metrics = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text();
  assert.match(metrics, /haproxy_server_status\{proxy="websocket",server="websockets-test_00",state="UP"\} 1/);
  assert.equal((await fetch(`http://127.0.0.1:${statsPort}/`)).status, 200);
  const ws = await connect(url);
  const close = closed(ws);
  primary.child.kill("SIGTERM");
  assert.equal((await close).code, 1001, "workers close with 1001 while haproxy still relays");
  assert.deepEqual(await primary.exited, { code: 0, signal: null });
  const order = primary.events.filter((event) => ["stopped", "haproxy-stopped"].includes(event.event));
  assert.equal(order.at(-1).event, "haproxy-stopped", "haproxy is the last to stop");
  assert.equal(isAlive(started.pid), false);
  assert.equal(existsSync(started.runtimeDir), false, "runtime dir removed");
});

test("--haproxy with bad input exits 2 before anything runs: missing binary, frontend port in use", async () => {
  const missing = await runPrimary(["--workers", "1", "--haproxy", "--haproxy-bin", "/nonexistent/haproxy"]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /WSFLEET_HAPROXY_NOT_FOUND: --haproxy-bin "\/nonexistent\/haproxy" is not an executable/,
  );
  assert.match(missing.stderr, /apt-get install -y haproxy/);
  const noPath = await runPrimary(["--workers", "1", "--haproxy"], { env: { PATH: "/nonexistent" } });
  assert.equal(noPath.code, 2);
  assert.match(noPath.stderr, /no "haproxy" on PATH; install HAProxy \(Debian\/Ubuntu: apt-get install -y haproxy\)/);
  const base = await freePortRange(2);
  const blocker = net.createServer().listen(base + 1, "127.0.0.1");
  await new Promise((resolve) => blocker.once("listening", resolve));
  try {
    const args = ["--workers", "1", "--base-port", String(base), "--host", "127.0.0.1", "--haproxy"];
    const inUse = await runPrimary([...args, "--frontend-host", "127.0.0.1", "--frontend-port", String(base + 1)]);
    assert.equal(inUse.code, 2);
    assert.match(inUse.stderr, new RegExp(`WSFLEET_PORT_IN_USE: port ${base + 1} on 127.0.0.1 is already in use`));
    assert.match(inUse.stderr, /choose another --frontend-port/);
  } finally {
    blocker.close();
  }
});

test("rolling restart (wsfleet reload) under 50 reconnecting clients: every worker replaced, no failed handshake, no wrong echo, no 1006", async (t) => {
  const { primary, url, runtime } = await startHaproxyFleet(t, 4, ["--start-secs", "0.5"]);
  const before = new Map(
    primary.events.filter((event) => event.event === "running").map((event) => [event.worker, event.pid]),
  );
  const clients = startReconnectingClients(url, 50);
  t.after(() => clients.stop());
  assert.ok(await clients.flowing(), "50 clients open and echoing");
  const from = primary.events.length;
  const startedMs = Date.now();
  const reload = await run(process.execPath, [PRIMARY, "reload", "--pid", String(primary.child.pid)]);
  assert.match(reload.stdout, new RegExp(`^primary ${primary.child.pid}: rolling restart of 4 workers done`));
  await primary.waitForEvent((event) => event.event === "reload" && /done/.test(event.message), 60_000);
  const reloadMs = Date.now() - startedMs;
  assert.ok(await clients.flowing(), "every client reconnected and echoes again");
  const stats = await clients.stop();
  const after = primary.events.slice(from);
  const replaced = after.filter((event) => event.event === "running");
  assert.deepEqual(
    replaced.map((event) => event.worker),
    ["websockets-test_00", "websockets-test_01", "websockets-test_02", "websockets-test_03"],
  );
  for (const event of replaced) assert.notEqual(event.pid, before.get(event.worker), `${event.worker} has a new pid`);
  // Each worker: drained in haproxy, stopped, RUNNING again, seen UP and set ready, before the next one.
  const steps = after
    .filter((event) => ["haproxy-drain", "stopped", "running", "haproxy-ready"].includes(event.event))
    .map((event) => `${event.event} ${event.worker}`);
  const expected = [0, 1, 2, 3].flatMap((index) =>
    ["haproxy-drain", "stopped", "running", "haproxy-ready"].map((step) => `${step} websockets-test_0${index}`),
  );
  assert.deepEqual(steps, expected);
  t.diagnostic(
    `rolling restart of 4 workers under 50 clients: ${reloadMs} ms; handshakes ${stats.handshakes}, failed ${stats.failedHandshakes}, echoes ${stats.echoes}, wrong ${stats.wrongEchoes}, close codes ${JSON.stringify(stats.closeCodes)}`,
  );
  assert.equal(stats.failedHandshakes, 0, `failed handshakes: ${stats.failures.join("; ")}`);
  assert.equal(stats.wrongEchoes, 0);
  assert.equal(stats.closeCodes[1006] ?? 0, 0, "no abnormal closure");
  assert.ok((stats.closeCodes[1012] ?? 0) >= 40, "the clients of each replaced worker got 1012 and reconnected");
  assert.ok(stats.handshakes >= 90, "the 1012-closed clients reconnected");
  assert.ok(await allUp(runtime, 4), "every server UP and ready after the restart");
});

test("worker kill -9 under load: haproxy marks it DOWN, new connections go elsewhere, UP again once it is back", async (t) => {
  const { base, primary, url, runtime } = await startHaproxyFleet(t, 3, ["--start-secs", "0.2"]);
  const victim = "websockets-test_01";
  const victimPid = primary.events.find((event) => event.event === "running" && event.worker === victim).pid;
  const clients = startReconnectingClients(url, 30);
  t.after(() => clients.stop());
  assert.ok(await eventually(() => clients.openCount() === 30, 10_000));
  const killedMs = Date.now();
  process.kill(victimPid, "SIGKILL");
  // A crashed worker is back within ~100 ms, before any check fails twice. To see HAProxy's own detection, the test
  // holds the port like a wedged process would: the restarts fail (BACKOFF) and the checks get no answer.
  const blocker = net.createServer((socket) => socket.destroy());
  await eventually(
    () =>
      new Promise((resolve) => {
        blocker.once("error", () => resolve(false));
        blocker.listen({ host: "127.0.0.1", port: base + 1, exclusive: true }, () => resolve(true));
      }),
    2000,
    5,
  );
  t.after(() => blocker.close());
  assert.ok(blocker.listening, "the test holds the port before the restart");
  const downMs = await msUntilState(runtime, victim, "DOWN", killedMs);
  assert.ok(downMs !== undefined, "haproxy marked the killed worker DOWN");
  const logged = await primary.waitForEvent(
    (event) => event.event === "haproxy-server" && event.worker === victim && event.state === "DOWN",
  );
  assert.match(logged.message, /haproxy: websockets-test_01 is DOWN/);
  // While it is DOWN, new clients are served by the others.
  for (let index = 0; index < 5; index += 1) {
    const ws = await connect(url);
    assert.equal((await roundTrip(ws, `while down ${index}`, false)).data.toString(), `while down ${index}`);
    ws.close();
  }
  const releasedMs = Date.now();
  await new Promise((resolve) => blocker.close(resolve));
  const upMs = await msUntilState(runtime, victim, "UP", releasedMs, 15_000);
  assert.ok(upMs !== undefined, "haproxy marked it UP again");
  await primary.waitForEvent(
    (event) => event.event === "haproxy-server" && event.worker === victim && event.state === "UP",
  );
  const stats = await clients.stop();
  t.diagnostic(
    `worker kill -9: DOWN in haproxy after ${downMs} ms; UP ${upMs} ms after its port was free again (restart back-off included); handshakes ${stats.handshakes}, failed ${stats.failedHandshakes}, wrong echoes ${stats.wrongEchoes}, close codes ${JSON.stringify(stats.closeCodes)}`,
  );
  assert.equal(stats.failedHandshakes, 0, `failed handshakes: ${stats.failures.join("; ")}`);
  assert.equal(stats.wrongEchoes, 0);
});

test("haproxy kill -9: the primary logs it and restarts it, and the frontend serves again", async (t) => {
  const { primary, url, runtime, started } = await startHaproxyFleet(t, 2);
  const from = primary.events.length;
  const killedMs = Date.now();
  process.kill(started.pid, "SIGKILL");
  const exited = await primary.waitForEvent((event) => event.event === "haproxy-exited");
  assert.equal(exited.signal, "SIGKILL");
  assert.match(exited.message, /exited: haproxy \(signal SIGKILL; not expected\).*restarting in 0 ms/);
  const running = await primary.waitForEvent(
    (event) => event.event === "haproxy-running" && primary.events.indexOf(event) >= from,
  );
  const restartMs = Date.now() - killedMs;
  assert.notEqual(running.pid, started.pid);
  assert.ok(await allUp(runtime, 2));
  const ws = await connect(url);
  assert.equal((await roundTrip(ws, "again", false)).data.toString(), "again");
  ws.close();
  t.diagnostic(`haproxy kill -9: new haproxy (pid ${running.pid}) answering ${restartMs} ms after the kill`);
  // And SIGKILL of the primary takes haproxy along (orphan guard), like the workers.
  primary.child.kill("SIGKILL");
  await primary.exited;
  assert.ok(await eventually(() => !isAlive(running.pid), 2000, 20), "no haproxy left behind");
});

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import WebSocket from "ws";
import { closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, isAlive, runPrimary, startPrimary } from "../helpers/fleet.js";
import { startNewConnections, startReconnectingClients } from "../helpers/load.js";
import { freePortRange } from "../helpers/ports.js";

/** A config file in a directory of its own, removed when the test ends; `write` replaces its content. */
function configFile(t, content) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-config-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "fleet.json");
  const write = (object) => writeFileSync(file, typeof object === "string" ? object : JSON.stringify(object));
  write(content);
  return { file, write };
}

async function status(pid) {
  const { code, stdout, stderr } = await runPrimary(["status", "--pid", String(pid), "--json"]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

/** 2 workers and HAProxy from a config file, on `ports` free ports, HAProxy's frontend on base + `frontendAt`. */
async function startHaproxyFromFile(t, ports, frontendAt) {
  const base = await freePortRange(ports);
  const settings = {
    workers: 2,
    "base-port": base,
    host: "127.0.0.1",
    "start-secs": 0,
    haproxy: true,
    "frontend-host": "127.0.0.1",
    "frontend-port": base + frontendAt,
  };
  const config = configFile(t, settings);
  const primary = startPrimary(t, ["--config", config.file]);
  await primary.waitForEvent((event) => event.event === "ready", 20_000);
  return { base, settings, config, primary };
}

const running = (s) => s.workers.filter((worker) => worker.state === "RUNNING").length;

test("--config: 3 workers start 3; changed to 5, wsfleet reload: 5 run and the first 3 keep their connections; a bad edit changes nothing, exit 2", async (t) => {
  const base = await freePortRange(6);
  const settings = { workers: 3, "base-port": base, host: "127.0.0.1", "start-secs": 0, "drain-spread": 0 };
  const config = configFile(t, settings);
  const primary = startPrimary(t, ["--config", config.file]);
  await primary.waitForRunning(3);
  await primary.waitForEvent((event) => event.event === "ready");
  const pid = primary.child.pid;
  const before = await status(pid);
  assert.equal(before.workers.length, 3);
  const held = await Promise.all([0, 1, 2].map((index) => connect(`ws://127.0.0.1:${base + index}/`)));
  const closes = held.map((ws) => closed(ws));

  // The worker count changes: the fleet scales, nothing is replaced.
  config.write({ ...settings, workers: 5 });
  const reload = await runPrimary(["reload", "--pid", String(pid)], { timeoutMs: 30_000 });
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(
    reload.stdout,
    new RegExp(`reloaded ${config.file.replace(/[./]/g, "\\$&")}: workers "3" → "5" \\(scaled\\)`),
  );
  const after = await status(pid);
  assert.equal(running(after), 5, JSON.stringify(after.workers));
  assert.deepEqual(
    after.workers.slice(0, 3).map((worker) => worker.pid),
    before.workers.map((worker) => worker.pid),
    "the first 3 workers are the same processes",
  );
  assert.deepEqual(after.lastReload.changes, ['workers "3" → "5" (scaled)']);
  for (const [index, ws] of held.entries()) {
    assert.equal(ws.readyState, WebSocket.OPEN, `connection to worker ${index} still open`);
    assert.equal((await roundTrip(ws, `still ${index}`, false)).data.toString(), `still ${index}`);
  }
  for (const index of [3, 4]) {
    const ws = await connect(`ws://127.0.0.1:${base + index}/`);
    assert.equal((await roundTrip(ws, "new", false)).data.toString(), "new");
    ws.close(1000);
  }
  const table = await runPrimary(["status", "--pid", String(pid)]);
  assert.match(table.stdout, /^last reload \S+: workers "3" → "5" \(scaled\)$/m);

  // A bad value: exit 2 naming the file, the key, the value and the fix; nothing changes.
  config.write({ ...settings, workers: "lots" });
  const bad = await runPrimary(["reload", "--pid", String(pid)]);
  assert.equal(bad.code, 2, bad.stdout);
  assert.match(
    bad.stderr,
    /WSFLEET_INVALID_OPTION: invalid value for "workers" in .*fleet\.json: "lots"; expected a whole number of workers/,
  );
  // Not JSON at all.
  config.write('{"workers": 5,');
  const broken = await runPrimary(["reload", "--pid", String(pid)]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /WSFLEET_CONFIG_INVALID: --config .*fleet\.json: not valid JSON/);
  // A change that needs a restart: refused, with the reason, and nothing else of the file applied either.
  config.write({ ...settings, workers: 4, "base-port": base + 100 });
  const refused = await runPrimary(["reload", "--pid", String(pid)]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /WSFLEET_RELOAD_REFUSED: reload of .*fleet\.json refused, nothing changed: base-port .* gives every worker its port, bound at start/,
  );
  const unchanged = await status(pid);
  assert.deepEqual(
    unchanged.workers.map((worker) => [worker.pid, worker.state]),
    after.workers.map((worker) => [worker.pid, "RUNNING"]),
  );
  assert.match(unchanged.lastReload.refused, /base-port/);
  for (const ws of held) assert.equal(ws.readyState, WebSocket.OPEN);

  // SIGHUP is the same reload: a worker-level change rolls every worker (old connections closed with 1012).
  config.write({ ...settings, workers: 5, "max-payload": "2MiB" });
  const from = primary.events.length;
  primary.child.kill("SIGHUP");
  await primary.waitForEvent(
    (event) => primary.events.indexOf(event) >= from && event.event === "reload" && /done/.test(event.message),
    30_000,
  );
  const rolled = await status(pid);
  assert.equal(running(rolled), 5);
  for (const [index, worker] of rolled.workers.entries()) {
    assert.notEqual(worker.pid, after.workers[index].pid, `${worker.name} was replaced`);
  }
  assert.deepEqual(rolled.lastReload.changes, ['max-payload "1MiB" → "2MiB" (workers rolled)']);
  for (const close of closes) assert.equal((await close).code, 1012);
  // The replacements run the new limit: a 1.5 MiB message is echoed (it would have closed with 1009 before).
  const big = await connect(`ws://127.0.0.1:${base}/`);
  const payload = Buffer.alloc(1.5 * 1024 * 1024, 7);
  assert.equal((await roundTrip(big, payload, true)).data.length, payload.length);
  big.close(1000);
});

test("wsfleet config: every setting in effect and its source; flags win over the file; WEB_CONCURRENCY is the environment's", async (t) => {
  const config = configFile(t, { workers: 3, name: "chat", "drain-spread": "0.5", haproxy: true });
  const shown = await runPrimary(["config", "--config", config.file, "--name", "room", "--json"]);
  assert.equal(shown.code, 0, shown.stderr);
  const { file, settings } = JSON.parse(shown.stdout);
  assert.equal(file, config.file);
  assert.deepEqual(settings.workers, { value: "3", source: "file" });
  assert.deepEqual(settings.name, { value: "room", source: "flag" });
  assert.deepEqual(settings["drain-spread"], { value: "0.5", source: "file" });
  assert.deepEqual(settings.haproxy, { value: "true", source: "file" });
  assert.deepEqual(settings["base-port"], { value: "8000", source: "default" });
  const environment = await runPrimary(["config"], { env: { WEB_CONCURRENCY: "6" } });
  assert.match(environment.stdout, /^workers\s+6\s+environment$/m);
  config.write({ wrokers: 3 });
  const typo = await runPrimary(["config", "--config", config.file]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown key "wrokers"; did you mean "workers"\?/);
  // The fleet itself refuses the same file before anything starts.
  const start = await runPrimary(["--config", config.file]);
  assert.equal(start.code, 2);
  assert.match(start.stderr, /unknown key "wrokers"/);
});

test("--config with --haproxy: a new frontend port and tunnel timeout reload HAProxy seamlessly; held connections stay, the old port closes", async (t) => {
  const { base, settings, config, primary } = await startHaproxyFromFile(t, 6, 4);
  const pid = primary.child.pid;
  const before = await status(pid);
  const held = await Promise.all([0, 1, 2].map(() => connect(`ws://127.0.0.1:${base + 4}/`)));

  config.write({ ...settings, "frontend-port": base + 5, "tunnel-timeout": 1800 });
  const reload = await runPrimary(["reload", "--pid", String(pid)], { timeoutMs: 30_000 });
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(
    reload.stdout,
    /frontend-port "\d+" → "\d+" \(haproxy reloaded\), tunnel-timeout "3600" → "1800" \(haproxy reloaded\)/,
  );
  const after = await status(pid);
  assert.notEqual(after.haproxy.pid, before.haproxy.pid, "a new haproxy serves");
  assert.deepEqual(
    after.workers.map((worker) => worker.pid),
    before.workers.map((worker) => worker.pid),
    "no worker was touched",
  );
  // The connections of the old haproxy go on; it finishes them.
  for (const [index, ws] of held.entries()) {
    assert.equal((await roundTrip(ws, `held ${index}`, false)).data.toString(), `held ${index}`);
  }
  assert.ok(isAlive(before.haproxy.pid), "the old haproxy is finishing its connections");
  const fresh = await connect(`ws://127.0.0.1:${base + 5}/`);
  assert.equal((await roundTrip(fresh, "new port", false)).data.toString(), "new port");
  await assert.rejects(connect(`ws://127.0.0.1:${base + 4}/`), /ECONNREFUSED/);
  // The new haproxy follows the fleet: a scale through the same file reaches it over its runtime API.
  config.write({ ...settings, "frontend-port": base + 5, "tunnel-timeout": 1800, workers: 3 });
  const scale = await runPrimary(["reload", "--pid", String(pid)], { timeoutMs: 30_000 });
  assert.equal(scale.code, 0, scale.stderr);
  assert.ok(
    await eventually(
      async () => Object.values((await status(pid)).haproxy.servers).filter((s) => s === "UP").length === 3,
      10_000,
    ),
    "the new haproxy sees 3 servers UP",
  );
  for (const ws of [...held, fresh]) ws.close(1000);
  assert.ok(
    await eventually(() => !isAlive(before.haproxy.pid), 10_000),
    "the old haproxy exits once its last connection ends",
  );
});

test("--config with --haproxy: a tunnel-timeout change under 50 held clients and 50 new connections a second refuses none and closes none", async (t) => {
  const { base, settings, config, primary } = await startHaproxyFromFile(t, 3, 2);
  const url = `ws://127.0.0.1:${base + 2}/`;
  const held = startReconnectingClients(url, 50, { intervalMs: 200 });
  t.after(() => held.stop());
  assert.ok(await held.flowing(), "50 clients open and echoing");
  const fresh = startNewConnections(url, 50);
  t.after(() => fresh.stop());
  await new Promise((resolve) => setTimeout(resolve, 500));
  config.write({ ...settings, "tunnel-timeout": 1800 });
  const reload = await runPrimary(["reload", "--pid", String(primary.child.pid)], { timeoutMs: 30_000 });
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(reload.stdout, /tunnel-timeout "3600" → "1800" \(haproxy reloaded\)/);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.ok(await held.flowing(), "the held clients still echo");
  const freshStats = await fresh.stop();
  const heldStats = await held.stop();
  t.diagnostic(
    `haproxy reload under load: held ${heldStats.handshakes} handshakes, close codes ${JSON.stringify(heldStats.closeCodes)}; new connections ${freshStats.opened} opened, ${freshStats.refused} refused, abnormal closes ${JSON.stringify(freshStats.abnormalCloses)}`,
  );
  assert.deepEqual(heldStats.closeCodes, {}, "no held connection was closed");
  assert.equal(heldStats.handshakes, 50, "no held client had to reconnect");
  assert.equal(freshStats.refused, 0, JSON.stringify(freshStats.failures.slice(0, 5)));
  assert.deepEqual(freshStats.abnormalCloses, {});
  assert.ok(freshStats.opened >= 50, `new connections flowed (${freshStats.opened})`);
});

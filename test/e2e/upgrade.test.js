import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { eventually, isAlive, runPrimary, startPrimary } from "../helpers/fleet.js";
import { startNewConnections, startReconnectingClients } from "../helpers/load.js";
import { freePortRange } from "../helpers/ports.js";

/** A runtime directory of the test's own, so `wsfleet status` without --pid finds its primary and no other. */
function privateRuntimeDir(t) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-upgrade-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Whatever happens, the primary with this pid is gone when the test ends (its guard takes its workers along). */
function killAtEnd(t, pid) {
  t.after(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  });
}

async function status(runtimeDir) {
  const { code, stdout, stderr } = await runPrimary(["status", "--json", "--runtime-dir", runtimeDir]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

/**
 * `wsfleet upgrade` under 200 held connections and 50 new ones a second: the new primary serves, the old generation
 * drains and is gone, and no client saw a refused handshake or a 1006.
 */
async function upgradeUnderLoad(t, { args, url, runtimeDir, metricsPort }) {
  const primary = startPrimary(t, [...args, "--start-secs", "0", "--drain-timeout", "0.5", "--drain-spread", "1"]);
  await primary.waitForEvent((event) => event.event === "ready", 20_000);
  const before = await status(runtimeDir);
  const oldPids = [before.pid, ...before.workers.map((worker) => worker.pid), before.haproxy?.pid].filter(Boolean);
  const held = startReconnectingClients(url, 200, { intervalMs: 1000, rampMs: 1000 });
  t.after(() => held.stop());
  assert.ok(await held.flowing(15_000), "200 clients open and echoing");
  const fresh = startNewConnections(url, 50);
  t.after(() => fresh.stop());
  await new Promise((resolve) => setTimeout(resolve, 1000));

  const upgrade = await runPrimary(["upgrade", "--runtime-dir", runtimeDir], { timeoutMs: 60_000 });
  assert.equal(upgrade.code, 0, upgrade.stderr);
  const newPid = Number(/^primary (\d+) serves now/.exec(upgrade.stdout)?.[1]);
  killAtEnd(t, newPid);
  assert.ok(newPid > 0 && newPid !== before.pid, upgrade.stdout);
  const exited = await primary.exited;
  assert.deepEqual(exited, { code: 0, signal: null }, "the old primary exits 0 once drained");
  assert.ok(await eventually(() => oldPids.every((pid) => !isAlive(pid)), 10_000), "the old generation is gone");
  // Traffic keeps flowing through the new generation; then the clients stop and count.
  assert.ok(await held.flowing(15_000), "every held client reconnected and echoes again");
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const freshStats = await fresh.stop();
  const heldStats = await held.stop();
  const after = await status(runtimeDir);
  assert.equal(after.pid, newPid, "wsfleet status answers from the new primary");
  if (metricsPort !== undefined) {
    // The old primary is gone: what answers is the new one, which took the port once the old one let go of it.
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^wsfleet_/m);
  }
  assert.equal(after.workers.filter((worker) => worker.state === "RUNNING").length, before.workers.length);
  t.diagnostic(
    `upgrade under load: held ${heldStats.handshakes} handshakes, ${heldStats.failedHandshakes} failed, close codes ${JSON.stringify(heldStats.closeCodes)}, wrong echoes ${heldStats.wrongEchoes}; new connections ${freshStats.opened} opened, ${freshStats.refused} refused, abnormal closes ${JSON.stringify(freshStats.abnormalCloses)}; pid ${before.pid} → ${newPid}`,
  );
  assert.equal(heldStats.failedHandshakes, 0, JSON.stringify(heldStats.failures.slice(0, 5)));
  assert.equal(heldStats.closeCodes[1006], undefined, JSON.stringify(heldStats.closeCodes));
  assert.equal(heldStats.wrongEchoes, 0);
  assert.ok(heldStats.closeCodes[1012] >= 200, "every held connection was closed once with 1012 and reconnected");
  assert.equal(freshStats.refused, 0, JSON.stringify(freshStats.failures.slice(0, 5)));
  assert.deepEqual(freshStats.abnormalCloses, {});
  assert.ok(freshStats.opened >= 100, `new connections flowed (${freshStats.opened})`);
  await runPrimary(["stop", "--pid", String(newPid)], { timeoutMs: 30_000 });
}

test("wsfleet upgrade with --haproxy under 200 held connections and 50 new a second: 0 refused, 0 closed with 1006, the new primary serves", async (t) => {
  const base = await freePortRange(4);
  const runtimeDir = privateRuntimeDir(t);
  await upgradeUnderLoad(t, {
    args: [
      ...["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1", "--runtime-dir", runtimeDir],
      ...["--haproxy", "--frontend-host", "127.0.0.1", "--frontend-port", String(base + 3)],
    ],
    url: `ws://127.0.0.1:${base + 3}/`,
    runtimeDir,
  });
});

test("wsfleet upgrade with --shared-port (and --metrics) under 200 held connections and 50 new a second: 0 refused, 0 closed with 1006", async (t) => {
  const port = await freePortRange(2);
  const runtimeDir = privateRuntimeDir(t);
  await upgradeUnderLoad(t, {
    args: [
      ...["--workers", "2", "--shared-port", String(port), "--host", "127.0.0.1", "--runtime-dir", runtimeDir],
      ...["--metrics", `127.0.0.1:${port + 1}`],
    ],
    url: `ws://127.0.0.1:${port}/`,
    runtimeDir,
    metricsPort: port + 1,
  });
});

test("a new version that fails its start is stopped, and the old one keeps serving; upgrade exits 1 with why", async (t) => {
  const base = await freePortRange(3);
  const runtimeDir = privateRuntimeDir(t);
  const app = path.join(runtimeDir, "app.mjs");
  writeFileSync(app, "export default { message(ws, message, isBinary) { ws.send(message, isBinary); } };\n");
  const primary = startPrimary(t, [
    ...["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1", "--runtime-dir", runtimeDir],
    ...["--haproxy", "--frontend-host", "127.0.0.1", "--frontend-port", String(base + 2), "--app", app],
    ...["--start-secs", "0", "--start-retries", "0"],
  ]);
  await primary.waitForEvent((event) => event.event === "ready", 20_000);
  const url = `ws://127.0.0.1:${base + 2}/`;
  const held = startReconnectingClients(url, 20, { intervalMs: 200 });
  t.after(() => held.stop());
  assert.ok(await held.flowing(), "20 clients open and echoing");
  // The release on disk is broken: its workers cannot load the app.
  writeFileSync(app, 'throw new Error("broken release");\n');
  const from = primary.events.length;
  const upgrade = await runPrimary(["upgrade", "--runtime-dir", runtimeDir], { timeoutMs: 60_000 });
  assert.equal(upgrade.code, 1, upgrade.stdout);
  assert.match(
    upgrade.stderr,
    /WSFLEET_UPGRADE_FAILED: upgrade failed, the running primary keeps serving: the new primary exited before it was ready/,
  );
  await primary.waitForEvent((event) => event.event === "upgrade-failed");
  // The new primary logs on the same output: every worker it spawned is gone.
  const newPids = primary.events
    .slice(from)
    .filter((event) => event.event === "spawned")
    .map((event) => event.pid);
  assert.ok(newPids.length >= 2, "the new primary started its workers");
  assert.ok(await eventually(() => newPids.every((pid) => !isAlive(pid)), 5000), "the failed new generation is gone");
  assert.ok(await held.flowing(), "the old generation still serves every held client");
  const stats = await held.stop();
  assert.deepEqual(stats.closeCodes, {}, "no held connection was closed");
  assert.equal(stats.failedHandshakes, 0);
  assert.equal((await status(runtimeDir)).pid, primary.child.pid);
  // A fleet that cannot hand its sockets over is refused, nothing started: exit 2 with the reason.
  const plainBase = await freePortRange(1);
  const plainDir = privateRuntimeDir(t);
  const plain = startPrimary(t, [
    ...["--workers", "1", "--base-port", String(plainBase), "--host", "127.0.0.1", "--runtime-dir", plainDir],
    "--start-secs",
    "0",
  ]);
  await plain.waitForEvent((event) => event.event === "ready");
  const refused = await runPrimary(["upgrade", "--runtime-dir", plainDir]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /WSFLEET_UPGRADE_REFUSED: .*clients connect to the workers' own ports.*--haproxy or --shared-port/,
  );
});

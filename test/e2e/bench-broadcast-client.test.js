import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

// bench/'s modules import bench/'s own dependencies (hdr-histogram-js), which a clean checkout has only after
// bench/ensure-deps.js: so they are imported after it ran, never at the top of the file.
let loaded;
function benchModules() {
  loaded ??= new Promise((resolve, reject) =>
    execFile(process.execPath, ["bench/ensure-deps.js"], { cwd: ROOT, timeout: 120_000 }, (error) =>
      error ? reject(error) : resolve(),
    ),
  ).then(async () => ({
    ...(await import("../../bench/lib/cload.js")),
    ...(await import("../../bench/lib/scenarios/broadcast.js")),
    ...(await import("../../bench/lib/targets/broadcast-uws.js")),
    ...(await import("../../bench/lib/targets/children.js")),
  }));
  return loaded;
}

// bench/broadcast.js --client c: the C client (cload -B) holds the same session as the Node client, against real
// servers (two bare uWebSockets.js processes joined by a real redis-server). It checks what the step reports, never
// a speed.
test("cload -B and the Node client each deliver every publish of a step, on both processes, with the same result", async (t) => {
  const { broadcastUwsTarget, openBroadcast, stopAll } = await benchModules();
  const target = broadcastUwsTarget(2);
  const ctx = { dir: mkdtempSync(`${os.tmpdir()}/wsfleet-test-broadcast-`), children: [], cleanups: [] };
  const running = await target.start(ctx);
  t.after(async () => {
    assert.deepEqual(
      await stopAll(
        ctx,
        running.collect().map((p) => p.pid),
      ),
      [],
      "servers left running",
    );
    rmSync(ctx.dir, { recursive: true, force: true });
  });
  const step = { publishesPerSecond: 50, warmupS: 0.5, durationS: 1 };
  const results = {};
  for (const client of ["c", "node"]) {
    // The C client also runs the warm-up (its publishes through one subscriber on each process) and checks it arrived.
    const session = await openBroadcast(target, running, {
      subscribers: 40,
      messageBytes: 64,
      warm: client === "c",
      client,
    });
    try {
      results[client] = await session.step(step);
    } finally {
      session.close();
    }
  }
  for (const [client, r] of Object.entries(results)) {
    assert.ok(r.publishes >= 45 && r.publishes <= 52, `${client}: ${r.publishes} publishes in 1 s at 50/s`);
    assert.equal(r.deliveredShare, 1, `${client}: ${r.deliveredShare} of the deliveries arrived`);
    const { local, remote } = r.latencyMsBySide;
    assert.equal(local.deliveries, 20 * r.publishes, `${client}: the publisher's process`);
    assert.equal(remote.deliveries, 20 * r.publishes, `${client}: the other process, across the bridge`);
    assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 <= r.latencyMs.p99, `${client}: ${JSON.stringify(r.latencyMs)}`);
    assert.ok(r.clientCpuUsPerDelivery > 0, `${client}: client CPU`);
    assert.ok(r.serverCpuUsByRole.worker > 0 && "redis" in r.serverCpuUsByRole, `${client}: server CPU by role`);
    assert.equal(r.rejoined, 0);
  }
  assert.deepEqual(Object.keys(results.c).sort(), Object.keys(results.node).sort());
});

test("cload -B names a bad option (exit 2) and a server it cannot reach (exit 1, JSON error)", async () => {
  const cload = (await benchModules()).ensureCload();
  const bad = spawnSync(cload, ["-B", "-s", "no-port-here", "-p", "127.0.0.1:1"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /-s: cannot use no-port-here \(host:port/);
  const short = spawnSync(cload, ["-B", "-s", "127.0.0.1:1", "-p", "127.0.0.1:1", "-m", "4"], { encoding: "utf8" });
  assert.equal(short.status, 2);
  assert.match(short.stderr, /-m of 15 to/);
  // Port 1 on loopback: nothing listens there, so the connect is refused.
  const refused = spawnSync(cload, ["-B", "-s", "127.0.0.1:1", "-p", "127.0.0.1:1", "-n", "1"], {
    encoding: "utf8",
    input: "",
  });
  assert.equal(refused.status, 1);
  assert.match(JSON.parse(refused.stdout).error, /^127\.0\.0\.1:1\/: connect: Connection refused/);
});

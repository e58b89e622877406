import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startOneWorker } from "../helpers/fleet.js";
import { makeTestPki } from "../helpers/tls.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function runNode(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: timeoutMs }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
}

// Benchmarks report and tests check behaviour: this runs the bench with tiny durations against two cheap targets
// and checks that it works and its JSON is complete. It never asserts a speed.
// It runs what `npm run bench` runs after its build: the suite runs on the dist/ `npm test` built, and the other
// test files use that dist/ at the same time, so rebuilding it here would pull it from under them.
test("bench/run.js --smoke measures one wsfleet worker and one ws process and writes complete JSON", async (t) => {
  const out = mkdtempSync(`${os.tmpdir()}/wsfleet-bench-smoke-`);
  t.after(() => rmSync(out, { recursive: true, force: true }));
  await runNode(["bench/ensure-deps.js"], 120_000);
  await runNode(["bench/run.js", "--smoke", "--out", out], 180_000);
  const files = readdirSync(out).filter((f) => f.endsWith("-smoke.json"));
  assert.equal(files.length, 1);
  const report = JSON.parse(readFileSync(`${out}/${files[0]}`, "utf8"));
  assert.equal(report.mode, "smoke");
  assert.equal(report.machine.cores, os.availableParallelism());
  assert.deepEqual(
    report.targets.map((target) => target.id),
    ["wsfleet-x1", "ws-x1"],
  );
  for (const target of report.targets) {
    assert.equal(target.available, true, target.id);
    assert.equal(target.error, undefined, `${target.id}: ${target.error}`);
    assert.deepEqual(target.leftovers, [], `${target.id} left processes running`);
    assert.deepEqual(
      target.rows.map((row) => row.name),
      ["idle", "headline", "m4k-p16", "connect"],
    );
    // The C client measures echoes and handshakes when cc could build it (CI installs gcc); load.js idle connections.
    const cClient = report.method.cClient ? "cload" : "load.js";
    for (const row of target.rows) {
      const r = row.result;
      assert.equal(r.client.name, row.name === "idle" ? "load.js" : cClient, row.name);
      assert.equal(typeof r.client.cpuPercent, "number");
      assert.equal(r.errors.total, 0, `${target.id} ${row.name}: ${r.errors.lastMessage}`);
      assert.ok(r.watched.processes.length >= 1, `${target.id} ${row.name} watched no process`);
      assert.ok(
        row.processes.some((p) => p.role === "worker"),
        `${target.id} has no worker`,
      );
      if (row.name === "idle") {
        assert.equal(r.idle.opened, r.idle.requested);
        assert.equal(typeof r.idle.serverBytesPerConnection, "number");
        continue;
      }
      assert.ok(r.messages > 0, `${target.id} ${row.name} exchanged no message`);
      if (row.name === "headline") assert.equal(row.repetitions.length, 1, "one repetition in a smoke run");
      for (const key of ["p2_5", "p50", "p97_5", "p99", "p99_9", "avg", "stdev", "max"]) {
        assert.equal(typeof r.latencyUs[key], "number", `${row.name} latency ${key}`);
      }
      assert.ok(r.msgsPerSecond.samples.length >= 1);
      assert.equal(typeof r.serverCpuUsPerMessage, "number");
      assert.equal(typeof r.client.cpuUsPerMessage, "number");
    }
  }
});

// In the same file as the smoke run, after it: both may compile bench/cload/build/cload, and must not at once.
test("the C client speaks wss:// (OpenSSL) to a wsfleet --tls-cert worker, opens handshakes, names a TLS failure", async (t) => {
  const pki = await makeTestPki(t);
  const leaf = await pki.leaf("bench");
  const tlsWorker = await startOneWorker(t, ["--tls-cert", leaf.cert, "--tls-key", leaf.key]);
  const plainWorker = await startOneWorker(t, [], { ports: 2 }); // its port + 1: free, for a refused connect
  const load = async (url, args) =>
    JSON.parse(
      await runNode(["bench/load.js", url, "--client", "c", "--json", "-w", "0.2", "-d", "1", ...args], 30_000),
    );
  // 32 B: a TLS record per message; 64 KiB at depth 4: records split over reads, writes that wait for the socket
  for (const args of [
    ["-c", "10", "-m", "32"],
    ["-c", "4", "-m", "65536", "-p", "4"],
  ]) {
    const r = await load(`wss://127.0.0.1:${tlsWorker.port}/`, args);
    assert.equal(r.client.name, "cload", args.join(" "));
    assert.equal(r.errors.total, 0, `${args.join(" ")}: ${r.errors.lastMessage}`);
    assert.ok(r.messages > 0, `${args.join(" ")}: no echo`);
    assert.equal(r.connectionsOpened, Number(args[1]));
  }
  // --connect: connect, (TLS,) opening handshake, one echo, closing handshake, over and over on 4 loops
  for (const url of [`ws://127.0.0.1:${plainWorker.port}/`, `wss://127.0.0.1:${tlsWorker.port}/`]) {
    const r = await load(url, ["--connect", "-c", "4"]);
    assert.equal(r.client.name, "cload", url);
    assert.equal(r.mode, "connect", url);
    assert.equal(r.errors.total, 0, `${url}: ${r.errors.lastMessage}`);
    assert.ok(r.handshakesPerSecond > 0, `${url}: no handshake`);
    assert.ok(r.latencyUs.p50 > 0, url);
  }
  // wss:// to a plain ws:// port: every connection fails its TLS handshake, and the message says so
  const refused = await load(`wss://127.0.0.1:${plainWorker.port}/`, ["-c", "3"]);
  assert.equal(refused.errors.connect, 3);
  assert.equal(refused.messages, 0);
  assert.match(refused.errors.lastMessage, /^TLS handshake: /);
  // handshakes to a port nobody listens on: refused, counted, backed off, named
  const nobody = await load(`ws://127.0.0.1:${plainWorker.port + 1}/`, ["--connect", "-c", "2"]);
  assert.equal(nobody.messages, 0);
  assert.ok(nobody.errors.connect > 0);
  assert.ok(nobody.errors.connect < 2 * 1.2 * 110, `backs off after a refusal: ${nobody.errors.connect} in 1.2 s`);
  assert.match(nobody.errors.lastMessage, /^connect: Connection refused/);
});

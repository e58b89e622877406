// Fleets on more than one machine, with loopback addresses standing in for hosts: two primaries on 127.0.0.2 and
// 127.0.0.3 (same ports), one HAProxy in front running the config `wsfleet haproxy-config --server-hosts` printed.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import WebSocket from "ws";
import { RuntimeClient } from "../../dist/haproxy/runtime.js";
import { closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, PRIMARY, startPrimary } from "../helpers/fleet.js";
import { allUp } from "../helpers/haproxy.js";
import { freePortRange } from "../helpers/ports.js";

const run = promisify(execFile);

/** Current sessions per server, from the runtime API's `show stat` CSV. */
async function currentSessions(runtime) {
  const [header, ...rows] = (await runtime.send("show stat")).trim().split("\n");
  const columns = header.replace(/^# /, "").split(",");
  const sessions = {};
  for (const row of rows.map((line) => line.split(","))) {
    if (row[columns.indexOf("pxname")] !== "websocket" || /FRONTEND|BACKEND/.test(row[1])) continue;
    sessions[row[columns.indexOf("svname")]] = Number(row[columns.indexOf("scur")]);
  }
  return sessions;
}

test("two fleets on 127.0.0.2 and 127.0.0.3 behind one HAProxy from haproxy-config --server-hosts", async (t) => {
  const base = await freePortRange(3);
  const frontendPort = base + 2;
  const fleets = {};
  for (const host of ["127.0.0.2", "127.0.0.3"]) {
    fleets[host] = startPrimary(t, [
      "--workers",
      "2",
      "--base-port",
      String(base),
      "--host",
      host,
      "--start-secs",
      "0.2",
    ]);
  }
  for (const fleet of Object.values(fleets)) await fleet.waitForRunning(2);
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-test-hosts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, "haproxy.sock");
  const ports = `${base}-${base + 1}`;
  const { stdout: config } = await run(process.execPath, [
    PRIMARY,
    "haproxy-config",
    "--server-hosts",
    `127.0.0.2:${ports},127.0.0.3:${ports}`,
    "--frontend-host",
    "127.0.0.1",
    "--frontend-port",
    String(frontendPort),
    "--stats-socket",
    socket,
  ]);
  const configPath = path.join(dir, "haproxy.cfg");
  writeFileSync(configPath, config);
  const haproxy = spawn("haproxy", ["-f", configPath, "-db"], { stdio: ["ignore", "ignore", "pipe"] });
  t.after(async () => {
    if (haproxy.exitCode === null) {
      haproxy.kill("SIGKILL");
      await once(haproxy, "exit");
    }
  });
  const runtime = new RuntimeClient(socket);
  assert.ok(await allUp(runtime, 4), "haproxy sees the 4 workers of both hosts UP");
  const url = `ws://127.0.0.1:${frontendPort}/`;
  const clients = [];
  for (let index = 0; index < 8; index += 1) {
    const ws = await connect(url);
    assert.equal((await roundTrip(ws, `client ${index}`, false)).data.toString(), `client ${index}`);
    clients.push(ws);
  }
  const sessions = await currentSessions(runtime);
  t.diagnostic(`sessions per server with 8 clients: ${JSON.stringify(sessions)}`);
  assert.deepEqual(Object.keys(sessions).sort(), [
    "websockets-test_127.0.0.2_00",
    "websockets-test_127.0.0.2_01",
    "websockets-test_127.0.0.3_00",
    "websockets-test_127.0.0.3_01",
  ]);
  for (const [server, count] of Object.entries(sessions)) assert.ok(count >= 1, `${server} serves (leastconn)`);
  // One host goes away: its clients get 1001, new clients are served by the other host.
  const codes = [];
  for (const ws of clients) void closed(ws).then((close) => codes.push(close.code));
  fleets["127.0.0.2"].child.kill("SIGTERM");
  await fleets["127.0.0.2"].exited;
  assert.ok(await eventually(() => codes.length === 4, 5000), `closed: ${codes}`);
  assert.deepEqual(codes, [1001, 1001, 1001, 1001], "the clients on 127.0.0.2 got 1001");
  const stayed = clients.filter((ws) => ws.readyState === WebSocket.OPEN);
  assert.equal(stayed.length, 4, "the clients on 127.0.0.3 stay open");
  for (const [index, ws] of stayed.entries()) {
    assert.equal((await roundTrip(ws, `stayed ${index}`, false)).data.toString(), `stayed ${index}`);
  }
  for (const ws of clients) ws.close(1000);
  for (let index = 0; index < 4; index += 1) {
    const ws = await connect(url);
    assert.equal((await roundTrip(ws, `after ${index}`, false)).data.toString(), `after ${index}`);
    ws.close();
  }
});

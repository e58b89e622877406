import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { closed, connect } from "../helpers/clients.js";
import { eventually, FIXTURES, runPrimary, startOneWorker, startPrimary } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

const CHAT = fileURLToPath(new URL("../../examples/chat-room.js", import.meta.url));

function nextMessage(ws) {
  return once(ws, "message").then(([data]) => String(data));
}

test("--app examples/chat-room.js: a message reaches everyone in the room on the worker, not other rooms", async (t) => {
  const port = await freePortRange(1);
  const primary = startPrimary(t, ["--workers", "1", "--base-port", String(port), "--start-secs", "0", "--app", CHAT]);
  await primary.waitForRunning(1);
  const [alice, bob, carol] = await Promise.all([
    connect(`ws://localhost:${port}/chat?room=lobby`),
    connect(`ws://localhost:${port}/chat?room=lobby`),
    connect(`ws://localhost:${port}/chat?room=kitchen`),
  ]);
  const heard = new Map([alice, bob, carol].map((ws) => [ws, []]));
  for (const [ws, messages] of heard) ws.on("message", (data) => messages.push(String(data)));
  const toAlice = nextMessage(alice);
  const toBob = nextMessage(bob);
  alice.send("hello lobby");
  assert.deepEqual(await Promise.all([toAlice, toBob]), ["hello lobby", "hello lobby"]);
  const toCarol = nextMessage(carol);
  carol.send("kitchen only");
  assert.equal(await toCarol, "kitchen only");
  // One more lobby message: one worker sends in order, so anything from the kitchen would have come before it.
  const toBobAgain = nextMessage(bob);
  alice.send("lobby again");
  assert.equal(await toBobAgain, "lobby again");
  assert.deepEqual(heard.get(carol), ["kitchen only"], "carol, in the kitchen, did not hear the lobby");
  assert.deepEqual(heard.get(bob), ["hello lobby", "lobby again"], "bob, in the lobby, did not hear the kitchen");
  // The app's own route, wsfleet's /healthz, 426 on its WebSocket path and 404 elsewhere.
  assert.equal((await fetch(`http://localhost:${port}/whoami`)).status, 200);
  assert.equal((await fetch(`http://localhost:${port}/healthz`)).status, 200);
  const plain = await fetch(`http://localhost:${port}/chat`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");
  assert.equal((await fetch(`http://localhost:${port}/nope`)).status, 404);
  const stray = new WebSocket(`ws://localhost:${port}/nope`);
  const [, response] = await once(stray, "unexpected-response");
  assert.equal(response.statusCode, 404);
  for (const ws of [alice, bob, carol]) ws.close();
});

test("--app that does not exist, or is not a WsfleetApp, is refused with a clear error", async (t) => {
  const missing = await runPrimary(["--workers", "1", "--app", "./no-such-handler.js"]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /invalid value for --app: "\.\/no-such-handler\.js"; expected the path of an existing module/,
  );
  const dir = await mkdtemp(join(tmpdir(), "wsfleet-app-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const notAnApp = join(dir, "not-an-app.mjs");
  await writeFile(notAnApp, "export default { hello: 1 };\n");
  const port = await freePortRange(1);
  const primary = startPrimary(t, [
    "--workers",
    "1",
    "--base-port",
    String(port),
    "--start-retries",
    "0",
    "--app",
    notAnApp,
  ]);
  const fatal = await primary.waitForEvent((event) => event.event === "fatal");
  assert.match(
    fatal.lastOutput,
    /not-an-app\.mjs must export a WsfleetApp \(default export with a message\(\) function\)/,
  );
  assert.equal((await primary.exited).code, 1);
});

test("client address: PROXY protocol v2 from a proxy, X-Forwarded-For only with --trust-proxy", async (t) => {
  const port = await freePortRange(2);
  const app = `${FIXTURES}whoami-app.mjs`;
  const plain = startPrimary(t, [
    "--workers",
    "1",
    "--base-port",
    String(port),
    "--host",
    "127.0.0.1",
    "--start-secs",
    "0",
    "--app",
    app,
  ]);
  const trusting = startPrimary(t, [
    ...["--workers", "1", "--base-port", String(port + 1), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--app", app, "--trust-proxy", "--name", "trusting"],
  ]);
  await Promise.all([plain.waitForRunning(1), trusting.waitForRunning(1)]);
  const greeting = async (url, headers = {}) => {
    const ws = new WebSocket(url, { headers });
    const [data] = await once(ws, "message");
    ws.close();
    return String(data);
  };
  assert.equal(await greeting(`ws://127.0.0.1:${port}/`), "you are 127.0.0.1");
  assert.equal(await greeting(`ws://127.0.0.1:${port}/`, { "X-Forwarded-For": "198.51.100.1" }), "you are 127.0.0.1");
  assert.equal(
    await greeting(`ws://127.0.0.1:${port + 1}/`, { "X-Forwarded-For": "198.51.100.1, 10.0.0.1" }),
    "you are 198.51.100.1",
  );
  // A PROXY protocol v2 header, as HAProxy's send-proxy-v2 writes it: TCP over IPv4 from 203.0.113.7:5555.
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const header = Buffer.concat([
    signature,
    Buffer.from([0x21, 0x11, 0x00, 12, 203, 0, 113, 7, 127, 0, 0, 1, 0x15, 0xb3, (port >> 8) & 0xff, port & 0xff]),
  ]);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, {
    createConnection: (options) => {
      const socket = net.connect(options.port, options.host);
      socket.write(header);
      return socket;
    },
  });
  const [data] = await once(ws, "message");
  assert.equal(String(data), "you are 203.0.113.7");
  ws.close();
});

test("client address behind the real HAProxy with send-proxy-v2: the worker sees the client's own loopback address", async (t) => {
  const { port } = await startOneWorker(t, ["--app", `${FIXTURES}whoami-app.mjs`], { ports: 2 });
  const frontend = port + 1;
  const dir = await mkdtemp(join(tmpdir(), "wsfleet-proxy-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, "haproxy.cfg");
  await writeFile(
    config,
    [
      "defaults",
      "    mode http",
      "    timeout connect 10s",
      "    timeout client 30s",
      "    timeout server 30s",
      "frontend websocket",
      `    bind 127.0.0.1:${frontend}`,
      "    default_backend websocket",
      "backend websocket",
      `    server websockets-test_00 127.0.0.1:${port} send-proxy-v2`,
      "",
    ].join("\n"),
  );
  const haproxy = spawn("haproxy", ["-f", config, "-db"], { stdio: "ignore" });
  t.after(() => haproxy.kill("SIGKILL"));
  assert.ok(
    await eventually(
      () =>
        new Promise((resolve) => {
          const probe = net.connect(frontend, "127.0.0.1", () => resolve(probe.destroy() && true));
          probe.on("error", () => resolve(false));
        }),
      5000,
    ),
  );
  // Connect from 127.0.0.9, an address of its own on the loopback network: HAProxy itself talks from 127.0.0.1.
  const ws = new WebSocket(`ws://127.0.0.1:${frontend}/`, { localAddress: "127.0.0.9" });
  const [data] = await once(ws, "message");
  assert.equal(String(data), "you are 127.0.0.9");
  const close = closed(ws);
  ws.close(1000);
  await close;
});

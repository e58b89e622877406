// One worker, three independent clients (Node ws, Debian's python3-websockets, raw sockets) on the same cases,
// then every bad input we know; the worker's pid must be the same at the end.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import WebSocket from "ws";
import { closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, FIXTURES, isAlive, SYSTEM_PYTHON, startOneWorker, within } from "../helpers/fleet.js";
import { frame, OP, rawConnect } from "../helpers/raw-ws.js";

const MAX_PAYLOAD = 1024 * 1024;
const SIZES = [0, 125, 126, 65535, 65536, MAX_PAYLOAD - 1, MAX_PAYLOAD];
let port;
let metricsPort;
let primary;
let workerPid;

after(() => primary?.kill());

before(async () => {
  ({
    port,
    primary,
    pid: workerPid,
  } = await startOneWorker(null, (base) => ["--metrics", `127.0.0.1:${base + 1}`], {
    ports: 2,
  }));
  metricsPort = port + 1;
});

function payload(size, binary) {
  return binary
    ? Buffer.from(Array.from({ length: size }, (_, index) => index % 251))
    : "é".repeat(size / 2) + "a".repeat(size % 2);
}

test("ws client: every size up to the max payload, text and binary, comes back identical with its type", async () => {
  const ws = await connect(`ws://127.0.0.1:${port}/`);
  for (const size of SIZES) {
    for (const binary of [false, true]) {
      const sent = payload(size, binary);
      const { data, isBinary } = await roundTrip(ws, sent, binary);
      assert.equal(isBinary, binary, `${size} ${binary}`);
      assert.ok(data.equals(Buffer.from(sent)), `${size} bytes ${binary ? "binary" : "text"}`);
    }
  }
  ws.close(1000);
  assert.equal((await closed(ws)).code, 1000);
});

test("ws client: a fragmented message is reassembled; ping gets its pong; max payload + 1 closes with 1009", async () => {
  const ws = await connect(`ws://127.0.0.1:${port}/`);
  const reply = once(ws, "message");
  ws.send("frag", { fin: false });
  ws.send("men", { fin: false });
  ws.send("ted", { fin: true });
  assert.equal(String((await reply)[0]), "fragmented");
  const pong = once(ws, "pong");
  ws.ping("are you there");
  assert.equal(String((await pong)[0]), "are you there");
  const close = closed(ws);
  ws.send(Buffer.alloc(MAX_PAYLOAD + 1), { binary: true });
  assert.deepEqual(await close, { code: 1009, reason: "message too big" });
});

test("python3-websockets client: the same sizes, fragments, ping, and 1009 for max payload + 1", async () => {
  const { stdout } = await promisify(execFile)(
    SYSTEM_PYTHON,
    [`${FIXTURES}py_conformance.py`, `ws://127.0.0.1:${port}/`, String(MAX_PAYLOAD)],
    { timeout: 30_000 },
  );
  const results = JSON.parse(stdout);
  for (const size of SIZES) {
    assert.equal(results[`text ${size}`], true, `text ${size}`);
    assert.equal(results[`binary ${size}`], true, `binary ${size}`);
  }
  assert.equal(results.fragmented, true);
  assert.equal(results.ping, true);
  assert.equal(results["oversized close"], 1009);
});

test("raw socket: sizes on the wire (7-bit, 16-bit and 64-bit lengths), fragments with a ping between them", async () => {
  const client = await rawConnect(port);
  let seen = 0;
  for (const size of SIZES) {
    const bytes = Buffer.from(payload(size, true));
    client.send(frame(OP.BINARY, bytes));
    const echo = await client.nextFrame(seen++);
    assert.equal(echo.opcode, OP.BINARY);
    assert.ok(echo.payload.equals(bytes), `${size} bytes`);
  }
  client.send(frame(OP.TEXT, Buffer.from("hel"), { fin: false }));
  client.send(frame(OP.PING, Buffer.from("mid-message")));
  client.send(frame(OP.CONTINUATION, Buffer.from("lo")));
  const pong = await client.nextFrame(seen++);
  assert.deepEqual([pong.opcode, String(pong.payload)], [OP.PONG, "mid-message"]);
  const echo = await client.nextFrame(seen++);
  assert.deepEqual([echo.opcode, String(echo.payload)], [OP.TEXT, "hello"]);
  client.send(frame(OP.CLOSE, Buffer.from([0x03, 0xe8])));
  assert.deepEqual(await client.closeResult(), { code: 1000, reason: "" });
  client.destroy();
});

test("raw socket: max payload + 1 gets a 1009 close frame", async () => {
  const client = await rawConnect(port);
  client.send(frame(OP.TEXT, Buffer.alloc(MAX_PAYLOAD + 1, 97)));
  assert.deepEqual(await client.closeResult(), { code: 1009, reason: "message too big" });
  client.destroy();
});

// uWebSockets.js closes these without a close frame (it calls us_socket_close, and the close handler gets 1006);
// no hook runs before it, so the client sees the TCP connection end: 1006 in browsers and in `ws`.
const DROPPED = {
  "invalid UTF-8 in a text message (RFC 6455: 1007)": () => frame(OP.TEXT, Buffer.from([0xc3, 0x28])),
  "invalid UTF-8 split across fragments (1007)": () =>
    Buffer.concat([frame(OP.TEXT, Buffer.from([0xc3]), { fin: false }), frame(OP.CONTINUATION, Buffer.from([0x28]))]),
  "RSV bits without an extension (1002)": () => frame(OP.TEXT, Buffer.from("hi"), { rsv: 4 }),
  "reserved opcode 0x3 (1002)": () => frame(0x3, Buffer.from("hi")),
  "fragmented ping (1002)": () => frame(OP.PING, Buffer.from("hi"), { fin: false }),
  "ping with a 126-byte payload (1002)": () => frame(OP.PING, Buffer.alloc(126)),
  "continuation with no message started (1002)": () => frame(OP.CONTINUATION, Buffer.from("hi")),
  "new message inside a fragmented one (1002)": () =>
    Buffer.concat([frame(OP.TEXT, Buffer.from("a"), { fin: false }), frame(OP.TEXT, Buffer.from("b"))]),
  "message over twice the max payload, cut at its header (1009)": () =>
    frame(OP.BINARY, Buffer.alloc(2 * MAX_PAYLOAD + 1)),
};

for (const [name, bytes] of Object.entries(DROPPED)) {
  test(`raw socket: ${name} → connection dropped by uWebSockets.js without a close frame`, async () => {
    const client = await rawConnect(port);
    client.send(bytes());
    assert.deepEqual(await client.closeResult(), { code: undefined, dropped: true });
    client.destroy();
  });
}

test("ws client: invalid UTF-8 sent as text is seen as 1006 (abnormal closure)", async () => {
  const ws = await connect(`ws://127.0.0.1:${port}/`);
  const close = closed(ws);
  ws.send(Buffer.from([0xc3, 0x28]), { binary: false });
  assert.equal((await close).code, 1006);
});

test("plain HTTP: GET on the WebSocket path → 426 with Upgrade: websocket; /healthz → 200", async () => {
  const plain = await fetch(`http://127.0.0.1:${port}/anything`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
});

test("garbage instead of HTTP, and a handshake that never completes, are dropped without affecting others", async (t) => {
  const garbage = net.connect(port, "127.0.0.1");
  garbage.on("error", () => {});
  let answer = "";
  garbage.on("data", (chunk) => {
    answer += chunk;
  });
  garbage.write(Buffer.from("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n", "latin1"));
  await once(garbage, "close");
  assert.match(answer, /^HTTP\/1.1 505 HTTP Version Not Supported\r\n/);
  const stalled = net.connect(port, "127.0.0.1");
  stalled.on("error", () => {});
  stalled.resume();
  stalled.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webs");
  const started = Date.now();
  // Meanwhile the worker serves everyone else.
  const ws = await connect(`ws://127.0.0.1:${port}/`);
  assert.equal((await roundTrip(ws, "still here", false)).data.toString(), "still here");
  ws.close();
  // uWebSockets.js' HTTP idle timeout is 10 s (HTTP_IDLE_TIMEOUT_S), counted in 4 s steps: 8-12 s.
  const droppedAfterMs = await within(
    once(stalled, "close").then(() => Date.now() - started),
    20_000,
  );
  assert.ok(droppedAfterMs !== undefined, "a stalled handshake is dropped");
  assert.ok(droppedAfterMs >= 7000, `dropped after ${droppedAfterMs} ms: at the HTTP idle timeout, not at once`);
  t.diagnostic(`a stalled handshake was dropped after ${droppedAfterMs} ms`);
});

test("a slow reader over --max-backpressure is closed, not buffered without end", async () => {
  const client = await rawConnect(port);
  client.socket.pause();
  const message = frame(OP.BINARY, Buffer.alloc(60_000, 1));
  for (let index = 0; index < 200; index += 1) client.send(message);
  // 12 MB of echoes queued for a reader that reads nothing: the worker closes it past 64 KiB of backpressure.
  // The worker closes it and counts it; its counters reach the primary's /metrics once a second.
  const metric = async (name) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(new RegExp(`^${name}\\{worker="websockets-test_00",port="\\d+"\\} (\\d+)$`, "m").exec(text)?.[1]);
  };
  const closedByServer = await eventually(
    async () =>
      (await metric("wsfleet_connections_open")) === 0 && (await metric("wsfleet_backpressure_events_total")) > 0,
    10_000,
    200,
  );
  assert.ok(closedByServer, "the worker closed the slow reader and counted the backpressure");
  // The client, reading again, finds its connection ended.
  const ended = client.socket.closed
    ? Promise.resolve()
    : new Promise((resolve) => client.socket.once("close", resolve));
  client.socket.resume();
  await ended;
});

test("after every bad input above, the same worker process is still serving", async () => {
  assert.ok(isAlive(workerPid));
  assert.equal(primary.events.filter((event) => event.event === "exited").length, 0);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(ws, "open");
  assert.equal((await roundTrip(ws, "alive", false)).data.toString(), "alive");
  ws.close();
});

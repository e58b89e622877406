/** Scenarios with slow, broken and hostile clients talking straight to a built-in worker. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import fc from "fast-check";
import { connect, roundTrip } from "../../helpers/clients.js";
import { isAlive, sleep, startOneWorker, TIMEOUT_FACTOR } from "../../helpers/fleet.js";
import { frame, OP, rawConnect } from "../../helpers/raw-ws.js";
import { checked, percentile, recordFigures, rssBytes } from "./figures.js";

function handshakeRequest(port) {
  return Buffer.from(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
}

/** Round trips of a normal client every `everyMs` until `until()`; their latencies in ms and failures. */
async function normalTraffic(url, until, everyMs = 100) {
  const latencies = [];
  let failures = 0;
  const ws = await connect(url);
  let sequence = 0;
  while (!until()) {
    const started = performance.now();
    try {
      sequence += 1;
      const { data } = await roundTrip(ws, `normal ${sequence}`, false);
      if (data.toString() === `normal ${sequence}`) latencies.push(performance.now() - started);
      else failures += 1;
    } catch {
      failures += 1;
    }
    await sleep(everyMs);
  }
  ws.close();
  return { latencies, failures };
}

/**
 * `count` handshakes sent a byte every `byteEveryMs` for `bytes` bytes, then abandoned: each must be dropped at the
 * worker's HTTP idle timeout (uWebSockets.js: 10 s, checked in 4 s steps) while a normal client keeps echoing.
 */
export async function abandonedHandshakes(t, key, { count = 1000, bytes = 20, byteEveryMs = 50 }) {
  const { port, pid } = await startOneWorker(t);
  const request = handshakeRequest(port);
  const sockets = [];
  for (let index = 0; index < count; index += 1) {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.resume();
    t.after(() => socket.destroy());
    sockets.push({ socket, closedAt: once(socket, "close").then(() => performance.now()) });
  }
  await Promise.all(sockets.map(({ socket }) => (socket.connecting ? once(socket, "connect") : undefined)));
  let trickling = true;
  const traffic = normalTraffic(`ws://127.0.0.1:${port}/`, () => !trickling);
  for (let offset = 0; offset < bytes; offset += 1) {
    for (const { socket } of sockets) socket.write(request.subarray(offset, offset + 1));
    await sleep(byteEveryMs);
  }
  const abandonedAt = performance.now();
  const dropped = await Promise.race([
    Promise.all(sockets.map(({ closedAt }) => closedAt)),
    sleep(20_000 * TIMEOUT_FACTOR).then(() => undefined),
  ]);
  trickling = false;
  const { latencies, failures } = await traffic;
  const afterMs = (dropped ?? []).map((at) => at - abandonedAt);
  recordFigures(key, {
    title: "Handshakes sent a byte at a time, then abandoned",
    what: `${count} connections to one worker each send the first ${bytes} bytes of a handshake one byte every ${byteEveryMs} ms, then nothing; a normal client sends a message every 100 ms meanwhile.`,
    figures: {
      "dropped by the worker": dropped ? dropped.length : "not all within 20 s",
      "dropped after abandon, min s": afterMs.length ? Math.min(...afterMs) / 1000 : null,
      "dropped after abandon, max s": afterMs.length ? Math.max(...afterMs) / 1000 : null,
      "normal client's echoes": latencies.length,
      "normal client's failures": failures,
      "normal client's echo p99 meanwhile, ms": percentile(latencies, 0.99),
    },
    notes: [
      "uWebSockets.js restarts its 10 s HTTP idle timer on every byte received, so a client that keeps trickling one byte every few seconds is not dropped until its headers pass uWS's size limit; behind --haproxy, HAProxy's `timeout client` (30 s) bounds that.",
    ],
  });
  await checked(key, () => {
    assert.ok(dropped, "every abandoned handshake was dropped");
    assert.ok(Math.min(...afterMs) >= 6000, "at the idle timeout, not before");
    assert.equal(failures, 0);
    assert.ok(isAlive(pid));
  });
}

/** An unmasked client frame (RFC 6455 §5.1: the server MUST close): how long the worker takes to close it. */
export async function unmaskedFrame(t, key, { idleTimeout = 8 }) {
  const { port } = await startOneWorker(t, ["--idle-timeout", String(idleTimeout)]);
  const client = await rawConnect(port);
  const sentAt = performance.now();
  client.send(frame(OP.TEXT, Buffer.from("unmasked hello"), { mask: false }));
  const result = await client.closeResult((idleTimeout + 5) * 1000);
  const closedAfterSecs = (performance.now() - sentAt) / 1000;
  client.destroy();
  recordFigures(key, {
    title: "Unmasked client frames",
    what: `A client sends an unmasked text frame to a worker started with --idle-timeout ${idleTimeout}.`,
    figures: {
      "closed after, s": closedAfterSecs,
      "close frame code": result.code ?? "none (TCP dropped)",
      echoed: client.frames.some((each) => each.opcode === OP.TEXT),
    },
    notes: [
      "Not closed at once: uWebSockets.js v20.51.0 does not check the MASK bit; it reads the next 4 bytes as a masking key and waits for the rest, and its JavaScript API exposes nothing below a complete message, so the worker cannot see the frame. It is closed by the idle timeout (a ping at half of it, dropped at the full time). A fix needs uWebSockets.js itself; behind HAProxy the frame reaches the worker unchanged.",
    ],
  });
  await checked(key, () => {
    assert.equal(result.dropped === true || result.code !== undefined, true, "closed in the end");
    assert.ok(closedAfterSecs <= idleTimeout + 4, `closed after ${closedAfterSecs} s`);
  });
}

/** A frame: any opcode, fin, rsv and mask bits, and a declared length that may differ from the payload's. */
function encode({ opcode, fin, rsv, mask, payload, lengthDelta }) {
  const declared = Math.max(0, payload.length + lengthDelta);
  const header = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  const maskBit = mask ? 0x80 : 0;
  if (declared < 126) header.push(maskBit | declared);
  else if (declared < 65536) header.push(maskBit | 126, declared >> 8, declared & 0xff);
  else
    header.push(
      maskBit | 127,
      0,
      0,
      0,
      0,
      (declared >>> 24) & 0xff,
      (declared >>> 16) & 0xff,
      (declared >>> 8) & 0xff,
      declared & 0xff,
    );
  const key = mask ? Buffer.from([0x12, 0x34, 0x56, 0x78]) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (mask) for (let index = 0; index < body.length; index += 1) body[index] ^= key[index & 3];
  return Buffer.concat([Buffer.from(header), key, body]);
}

const UTF8_TRAPS = [[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff]];

/** Mutated frames: mostly close to valid, with every field sometimes wrong, in fragment sequences of 1-3. */
function mutatedFrames() {
  const payload = fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 140 }) },
    { weight: 2, arbitrary: fc.string({ maxLength: 60 }).map((text) => new Uint8Array(Buffer.from(text))) },
    { weight: 2, arbitrary: fc.constantFrom(...UTF8_TRAPS).map((bytes) => new Uint8Array(bytes)) },
    { weight: 1, arbitrary: fc.integer({ min: 126, max: 70_000 }).map((size) => new Uint8Array(size).fill(0x61)) },
  );
  const one = fc.record({
    opcode: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
    ),
    fin: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rsv: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
    mask: fc.oneof({ weight: 19, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    payload,
    lengthDelta: fc.oneof(
      { weight: 12, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) },
    ),
  });
  return fc.array(one, { minLength: 1, maxLength: 3 });
}

/**
 * A seeded fast-check fuzzer: `total` mutated frames to one worker. It never crashes, a normal client still echoes,
 * and its memory after the run is within 10 % of before (measured after a warm-up of the same traffic).
 */
export async function fuzzFrames(t, key, { total = 10_000, seed = 13, perConnection = 50 }) {
  const { port, pid, primary } = await startOneWorker(t, ["--max-payload", "64KiB"]);
  const sequences = [];
  let count = 0;
  for (const sequence of fc.sample(mutatedFrames(), { seed, numRuns: total })) {
    if (count >= total) break;
    const encoded = sequence.slice(0, total - count).map(encode);
    count += encoded.length;
    sequences.push(encoded);
  }
  // One sequence at a time, a short pause after each so a connection the worker drops is seen before the next
  // sequence; a new connection then, and after `perConnection` sequences in any case.
  const run = async (list) => {
    let connections = 0;
    let dropped = 0;
    let socket;
    let closed;
    let used = 0;
    const open = async () => {
      connections += 1;
      used = 0;
      socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => {});
      socket.resume();
      let isClosed = false;
      // Not events.once: that rejects on the EPIPE a write to a connection the worker has dropped gives.
      closed = new Promise((resolve) => socket.once("close", resolve)).then(() => {
        isClosed = true;
      });
      closed.isClosed = () => isClosed;
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write(handshakeRequest(port));
    };
    for (const sequence of list) {
      if (!socket || closed.isClosed() || used >= perConnection) {
        if (socket && !closed.isClosed()) {
          socket.destroy();
          await closed;
        } else if (socket) dropped += 1;
        await open();
      }
      used += 1;
      for (const bytes of sequence) socket.write(bytes);
      await Promise.race([closed, sleep(2)]);
    }
    socket?.destroy();
    return { connections, dropped };
  };
  await run(sequences.slice(0, Math.ceil(sequences.length / 5)));
  const rssBefore = rssBytes(pid);
  const startedAt = performance.now();
  const { connections, dropped } = await run(sequences);
  const fuzzSecs = (performance.now() - startedAt) / 1000;
  await sleep(1000);
  const rssAfter = rssBytes(pid);
  const alive = isAlive(pid);
  let echoes = false;
  if (alive) {
    const ws = await connect(`ws://127.0.0.1:${port}/`);
    echoes = (await roundTrip(ws, "after the fuzzer", false)).data.toString() === "after the fuzzer";
    ws.close();
  }
  const exits = primary.events.filter((event) => event.event === "exited").length;
  recordFigures(key, {
    title: "Fuzzer: mutated frames",
    what: `fast-check (seed ${seed}) generates ${count.toLocaleString("en")} frames: any opcode (mostly valid ones), FIN, RSV bits, unmasked 1 in 20, declared length off by up to 8 bytes 1 in 13, random payloads, broken UTF-8, payloads over 126 and 65,535 bytes, in sequences of 1-3 (fragments, control frames inside); one sequence at a time on a connection (up to ${perConnection}), a new connection when the worker drops one; --max-payload 64KiB.`,
    figures: {
      "frames sent": count,
      "sequences (1-3 frames)": sequences.length,
      connections: connections,
      "connections the worker dropped": dropped,
      "time, s": fuzzSecs,
      "worker exits": exits,
      "worker RSS before → after, MiB": `${(rssBefore / 2 ** 20).toFixed(1)} → ${(rssAfter / 2 ** 20).toFixed(1)}`,
      "memory change, %": Number(((100 * (rssAfter - rssBefore)) / rssBefore).toFixed(1)),
      "a normal client still echoes": echoes,
    },
    notes: [
      "The 'before' is measured after a warm-up of the first fifth of the same sequences, so the worker's first-use allocations are not counted as growth.",
    ],
  });
  await checked(key, () => {
    assert.ok(alive, "the worker process is still running");
    assert.equal(exits, 0);
    assert.ok(echoes);
    assert.ok(rssAfter <= rssBefore * 1.1, `RSS ${rssBefore} → ${rssAfter}`);
  });
}

/** Readers that read nothing while their echoes pile up: the worker closes them at --max-backpressure. */
export async function slowReaders(t, key, { readers = 50, messages = 100, size = 60_000 }) {
  const { port, pid } = await startOneWorker(t);
  const rssBefore = rssBytes(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssBytes(pid));
  }, 50);
  const message = frame(OP.BINARY, Buffer.alloc(size, 1));
  const clients = [];
  for (let index = 0; index < readers; index += 1) {
    const client = await rawConnect(port);
    client.socket.pause();
    for (let sent = 0; sent < messages; sent += 1) client.send(message);
    clients.push(client);
  }
  const ended = await Promise.race([
    Promise.all(
      clients.map((client) =>
        client.socket.closed
          ? undefined
          : new Promise((resolve) => {
              client.socket.once("close", resolve);
              client.socket.resume();
            }),
      ),
    ).then(() => true),
    sleep(20_000 * TIMEOUT_FACTOR).then(() => false),
  ]);
  clearInterval(sampler);
  const closeCodes = clients.map(
    (client) => client.frames.find((each) => each.opcode === OP.CLOSE)?.payload.readUInt16BE(0) ?? "none",
  );
  const echoed = await connect(`ws://127.0.0.1:${port}/`).then(async (ws) => {
    const ok = (await roundTrip(ws, "after slow readers", false)).data.toString() === "after slow readers";
    ws.close();
    return ok;
  });
  const sentMiB = (readers * messages * size) / 2 ** 20;
  recordFigures(key, {
    title: "Slow readers",
    what: `${readers} clients each send ${messages} messages of ${size.toLocaleString("en")} bytes (${sentMiB.toFixed(0)} MiB in all) and read nothing; --max-backpressure is the default 64 KiB.`,
    figures: {
      "closed by the worker": ended ? readers : "not all within 20 s",
      "close frames seen": [...new Set(closeCodes)].join(", "),
      "worker RSS before → peak, MiB": `${(rssBefore / 2 ** 20).toFixed(1)} → ${(rssPeak / 2 ** 20).toFixed(1)}`,
      "a normal client still echoes": echoed,
    },
  });
  await checked(key, () => {
    assert.ok(ended, "every slow reader was closed");
    assert.ok(
      rssPeak - rssBefore < sentMiB * 2 ** 20 * 0.5,
      `RSS grew ${(rssPeak - rssBefore) / 2 ** 20} MiB for ${sentMiB} MiB sent`,
    );
    assert.ok(echoed);
  });
}

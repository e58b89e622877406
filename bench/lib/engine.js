/**
 * The load engine of one process: closed-loop echo at a fixed depth, open-loop at a fixed rate, a new connection
 * per exchange, or idle connections. It reports raw counts and a histogram; statistics and printing live elsewhere.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { openWebSocket } from "./connection.js";
import {
  buildCloseFrame,
  buildMaskedFrame,
  buildPayload,
  FrameReader,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  repeatFrame,
} from "./frames.js";
import { createLatencyHistogram } from "./stats.js";

const OPEN_CONCURRENCY = 256; // handshakes in flight at once while opening many connections
const DRAIN_MS = 2000;

/** A FIFO of send times that grows when the open loop has more in flight than it expected. */
class TimeQueue {
  constructor(capacity) {
    this.items = new Float64Array(Math.max(2, capacity));
    this.head = 0;
    this.size = 0;
  }
  push(time) {
    if (this.size === this.items.length) {
      const grown = new Float64Array(this.items.length * 2);
      for (let i = 0; i < this.size; i += 1) grown[i] = this.items[(this.head + i) % this.items.length];
      this.items = grown;
      this.head = 0;
    }
    this.items[(this.head + this.size) % this.items.length] = time;
    this.size += 1;
  }
  shift() {
    const time = this.items[this.head];
    this.head = (this.head + 1) % this.items.length;
    this.size -= 1;
    return time;
  }
}

/** Opens `count` connections, `OPEN_CONCURRENCY` at a time; failures are counted, not thrown. */
async function openMany(settings, count, errors) {
  const opened = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      try {
        opened.push(await openWebSocket(settings));
      } catch (error) {
        errors.connect += 1;
        errors.lastMessage = String(error.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, count) }, worker));
  return opened;
}

function newErrors() {
  return { connect: 0, closed: 0, timeouts: 0, lastMessage: "" };
}

/**
 * Runs one load and returns { histogram, secondMsgs, secondBytes, msgs, bytes, cpuUs, errors, ... }.
 * hooks: onMeasureStart(), onMeasureEnd(), onSecond(msgs, bytes): called at the edges of the measured window.
 */
export async function runEngine(settings, hooks = {}) {
  if (settings.mode === "idle") return runIdle(settings, hooks);
  if (settings.mode === "connect") return runConnect(settings, hooks);
  return runEcho(settings, hooks);
}

function measuredWindow(settings, hooks, state) {
  // Warm-up first, then the measured window: counters and histogram are reset at its start.
  return (async () => {
    await sleep(settings.warmupMs);
    state.histogram.reset();
    state.msgs = 0;
    state.bytes = 0;
    state.recording = true;
    const cpuStart = process.cpuUsage();
    const startedAt = performance.now();
    hooks.onMeasureStart?.();
    let lastMsgs = 0;
    let lastBytes = 0;
    const secondsTotal = Math.round(settings.durationMs / 1000);
    const ticker = setInterval(() => {
      const msgs = state.msgs - lastMsgs;
      const bytes = state.bytes - lastBytes;
      lastMsgs = state.msgs;
      lastBytes = state.bytes;
      if (state.secondMsgs.length < secondsTotal) {
        state.secondMsgs.push(msgs);
        state.secondBytes.push(bytes);
        hooks.onSecond?.(msgs, bytes);
      }
    }, 1000);
    await sleep(settings.durationMs);
    clearInterval(ticker);
    state.recording = false;
    state.measuredMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuStart);
    state.cpuUs = cpu.user + cpu.system;
    state.cpuSystemUs = cpu.system;
    hooks.onMeasureEnd?.();
  })();
}

async function runEcho(settings, hooks) {
  const errors = newErrors();
  const opcode = settings.binary ? OPCODE_BINARY : OPCODE_TEXT;
  const frame = buildMaskedFrame(opcode, buildPayload(settings.messageBytes));
  const frameBytes = frame.length;
  const openLoop = settings.ratePerSecond > 0;
  const depth = openLoop ? 1 : settings.depth;
  const batch = repeatFrame(frame, openLoop ? 64 : depth);
  const state = {
    histogram: createLatencyHistogram(),
    recording: false,
    sending: true,
    msgs: 0,
    bytes: 0,
    inFlight: 0,
    secondMsgs: [],
    secondBytes: [],
    cpuUs: 0,
    measuredMs: 0,
  };
  const histogram = state.histogram;
  const writeFrames = (socket, n) => {
    if (n === 1) socket.write(frame);
    else if (n <= batch.length / frameBytes) socket.write(batch.subarray(0, n * frameBytes));
    else for (let i = 0; i < n; i += 1) socket.write(frame);
  };

  const connections = await openMany(settings, settings.connections, errors);
  const pong = (socket) => (op, payload) => {
    if (op === OPCODE_PING) socket.write(buildMaskedFrame(OPCODE_PONG, payload));
    else if (op === OPCODE_CLOSE) socket.destroy();
  };
  const live = connections.map(({ socket, leftover, setReader }) => {
    const conn = { socket, queue: new TimeQueue(depth * 2), reader: null, nextSendAt: 0 };
    const reader = new FrameReader(pong(socket));
    const queue = conn.queue;
    const onData = (chunk, length) => {
      const n = reader.feed(chunk, length);
      if (state.recording) state.bytes += length;
      if (n === 0) return;
      const now = performance.now();
      if (state.recording) {
        state.msgs += n;
        for (let i = 0; i < n; i += 1) histogram.recordValue(Math.max(1, Math.round((now - queue.shift()) * 1000)));
      } else {
        for (let i = 0; i < n; i += 1) queue.shift();
      }
      state.inFlight -= n;
      if (!openLoop && state.sending) {
        for (let i = 0; i < n; i += 1) queue.push(now);
        state.inFlight += n;
        writeFrames(socket, n);
      }
    };
    setReader(onData);
    socket.on("error", () => {});
    socket.on("close", () => {
      if (state.sending) errors.closed += 1;
    });
    if (leftover.length > 0) onData(leftover, leftover.length);
    return conn;
  });

  let rateTicker = null;
  if (openLoop) {
    // wrk2's correction for coordinated omission: latency runs from when a message was due, not when it went out.
    const intervalMs = (1000 * live.length) / settings.ratePerSecond;
    const start = performance.now();
    live.forEach((conn, i) => {
      conn.nextSendAt = start + (intervalMs * i) / live.length;
    });
    rateTicker = setInterval(() => {
      if (!state.sending) return;
      const now = performance.now();
      for (const conn of live) {
        let n = 0;
        while (conn.nextSendAt <= now) {
          conn.queue.push(conn.nextSendAt);
          conn.nextSendAt += intervalMs;
          n += 1;
        }
        if (n > 0 && !conn.socket.destroyed) {
          state.inFlight += n;
          writeFrames(conn.socket, n);
        }
      }
    }, 1);
  } else {
    const now = performance.now();
    for (const conn of live) {
      for (let i = 0; i < depth; i += 1) conn.queue.push(now);
      state.inFlight += depth;
      writeFrames(conn.socket, depth);
    }
  }

  await measuredWindow(settings, hooks, state);
  state.sending = false;
  if (rateTicker) clearInterval(rateTicker);
  const drainUntil = performance.now() + DRAIN_MS;
  while (state.inFlight > 0 && performance.now() < drainUntil) await sleep(10);
  if (state.inFlight > 0) errors.timeouts += state.inFlight;
  for (const { socket } of live) socket.destroy();
  return measuredResult(openLoop ? "rate" : "echo", live.length, state, errors);
}

/** A new connection per exchange: connect, handshake, one echo, close. Counts completed exchanges. */
async function runConnect(settings, hooks) {
  const errors = newErrors();
  const frame = buildMaskedFrame(settings.binary ? OPCODE_BINARY : OPCODE_TEXT, buildPayload(settings.messageBytes));
  const closeFrame = buildCloseFrame();
  const state = {
    histogram: createLatencyHistogram(),
    recording: false,
    msgs: 0,
    bytes: 0,
    secondMsgs: [],
    secondBytes: [],
    cpuUs: 0,
    measuredMs: 0,
  };
  let running = true;
  const exchange = () =>
    new Promise((resolve) => {
      const started = performance.now();
      openWebSocket({ ...settings, timeoutMs: 5000 }).then(
        ({ socket, leftover, setReader }) => {
          const done = setTimeout(() => socket.destroy(), DRAIN_MS);
          const reader = new FrameReader((op) => {
            if (op === OPCODE_CLOSE) {
              clearTimeout(done);
              socket.destroy();
            }
          });
          let echoed = false;
          const onData = (chunk, length) => {
            if (reader.feed(chunk, length) > 0 && !echoed) {
              echoed = true;
              if (state.recording) {
                state.msgs += 1;
                state.bytes += length;
                state.histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
              }
              // The server closes TCP after the closing handshake (RFC 6455 7.1.1), so TIME_WAIT stays on its side.
              socket.write(closeFrame);
              resolve();
            }
          };
          setReader(onData);
          socket.on("error", () => {});
          socket.on("close", () => {
            clearTimeout(done);
            if (!echoed) {
              errors.closed += 1;
              resolve();
            }
          });
          if (leftover.length > 0) onData(leftover, leftover.length);
          socket.write(frame);
        },
        (error) => {
          errors.connect += 1;
          errors.lastMessage = String(error.message ?? error);
          // Back off a little on refusal, so a dead target is not hammered in a tight loop.
          setTimeout(resolve, 10);
        },
      );
    });
  const loops = Array.from({ length: settings.connections }, async () => {
    while (running) await exchange();
  });
  await measuredWindow(settings, hooks, state);
  running = false;
  await Promise.race([Promise.all(loops), sleep(DRAIN_MS)]);
  return measuredResult("connect", 0, state, errors);
}

/** What a measured run returns, whatever its mode: the window's histogram, per-second samples, totals and CPU. */
function measuredResult(mode, connectionsOpened, state, errors) {
  return {
    mode,
    connectionsOpened,
    histogram: state.histogram,
    secondMsgs: state.secondMsgs,
    secondBytes: state.secondBytes,
    msgs: state.msgs,
    bytes: state.bytes,
    cpuUs: state.cpuUs,
    cpuSystemUs: state.cpuSystemUs,
    measuredMs: state.measuredMs,
    errors,
  };
}

/** Holds `idle` connections open, doing nothing, for the duration; memory is sampled by whoever watches pids. */
async function runIdle(settings, hooks) {
  const errors = newErrors();
  hooks.onIdleBaseline?.();
  const cpuStart = process.cpuUsage();
  const openedAt = performance.now();
  const connections = await openMany(settings, settings.idle, errors);
  const openMs = performance.now() - openedAt;
  let holding = true;
  for (const { socket, setReader } of connections) {
    const reader = new FrameReader((op, payload) => {
      if (op === OPCODE_PING) socket.write(buildMaskedFrame(OPCODE_PONG, payload));
    });
    setReader((chunk, length) => reader.feed(chunk, length));
    socket.on("error", () => {});
    socket.on("close", () => {
      if (holding) errors.closed += 1;
    });
  }
  await sleep(settings.warmupMs);
  hooks.onMeasureStart?.();
  const startedAt = performance.now();
  await sleep(settings.durationMs);
  const measuredMs = performance.now() - startedAt;
  hooks.onMeasureEnd?.();
  const cpu = process.cpuUsage(cpuStart);
  holding = false;
  for (const { socket } of connections) socket.destroy();
  return {
    mode: "idle",
    connectionsOpened: connections.length,
    openMs,
    histogram: createLatencyHistogram(),
    secondMsgs: [],
    secondBytes: [],
    msgs: 0,
    bytes: 0,
    cpuUs: cpu.user + cpu.system,
    cpuSystemUs: cpu.system,
    measuredMs,
    clientRssBytes: process.memoryUsage.rss(),
    errors,
  };
}

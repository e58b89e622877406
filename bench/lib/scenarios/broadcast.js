/**
 * Broadcast: `subscribers` connections in one room, spread over the target's processes, and one publisher at a fixed
 * rate of `messageBytes` messages that carry their send time. Per step: delivered messages/s, the share of the
 * expected deliveries that arrived, publish-to-delivery latency (HDR histogram), and CPU per delivery: the servers',
 * this client's own, and the machine's softirq time (loopback's receive path, counted to no process).
 * Speaks plain WebSocket frames, or socket.io's (engine.io v4 over the websocket transport) on the same raw sockets,
 * so both kinds of target are read by the same client code.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { openWebSocket } from "../connection.js";
import { buildMaskedFrame, frameParser, OPCODE_PING, OPCODE_PONG, OPCODE_TEXT } from "../frames.js";
import { cpuByRole, machineSoftirqUs } from "../proc.js";
import { createLatencyHistogram } from "../stats.js";
import { openBroadcastC } from "./broadcast-c.js";
import { cpuBetween, settle, stepResult, WARM_PUBLISHES } from "./broadcast-step.js";

const STAMP_DIGITS = 15;
const DRAIN_MS = 1500;
const JOIN_TIMEOUT_MS = 10_000;
/** Sent in bursts of this many every millisecond: 4,000/s, about 5 s. */
const WARM_PER_MS = 4;
const CHAR_0 = 0x30;
/** socket.io: `42["m","<payload>"]`, the payload starts after 8 bytes; engine.io ping "2" is answered "3". */
const SOCKETIO_EVENT_OFFSET = 8;

/** The send time in µs (performance.now, one process), zero-padded, then filler up to `bytes`. */
function stampedPayload(bytes) {
  const stamp = String(Math.round(performance.now() * 1000)).padStart(STAMP_DIGITS, "0");
  return stamp + "x".repeat(Math.max(0, bytes - STAMP_DIGITS));
}

function readStamp(buffer, offset) {
  let value = 0;
  for (let i = 0; i < STAMP_DIGITS; i += 1) value = value * 10 + (buffer[offset + i] - CHAR_0);
  return value;
}

async function openClient(endpoint, path, protocol, onData) {
  const { socket, leftover, setReader } = await openWebSocket({ ...endpoint, path });
  const send = (text) => socket.write(buildMaskedFrame(OPCODE_TEXT, Buffer.from(text)));
  const onControl = (opcode, payload) => {
    if (opcode === OPCODE_PING) socket.write(buildMaskedFrame(OPCODE_PONG, payload));
  };
  let connected;
  const joined = new Promise((resolve) => {
    connected = resolve;
  });
  const reader =
    protocol === "socket.io"
      ? frameParser((buffer, start, end) => {
          // engine.io's open "0{...}": join the default namespace with "40"; its ack "40{...}": ready. An event sent
          // before the ack is refused by socket.io, so nothing is sent until then. "2": ping; "42[...]": an event.
          const type = buffer[start];
          const next = buffer[start + 1];
          if (type === 0x30) send("40");
          else if (type === 0x34 && next === 0x30) connected();
          else if (end - start === 1 && type === 0x32) send("3");
          else if (type === 0x34 && next === 0x32) onData(buffer, start + SOCKETIO_EVENT_OFFSET);
        }, onControl)
      : frameParser((buffer, start) => onData(buffer, start), onControl);
  setReader(reader);
  if (leftover.length > 0) reader(leftover, leftover.length);
  if (protocol === "socket.io") {
    const timeout = sleep(JOIN_TIMEOUT_MS).then(() => {
      throw new Error(`socket.io did not acknowledge the connect packet within ${JOIN_TIMEOUT_MS} ms`);
    });
    await Promise.race([joined, timeout]);
  }
  return { socket, send };
}

/** Sends one message stamped now from `publisher` (socket.io: as the event "p"). */
function publishOf(target, publisher, messageBytes) {
  return target.protocol === "socket.io"
    ? () => publisher.send(`42["p","${stampedPayload(messageBytes)}"]`)
    : () => publisher.send(stampedPayload(messageBytes));
}

/**
 * WARM_PUBLISHES through one subscriber on each process, then those connections are closed (see WARM_PUBLISHES).
 * Throws when far fewer arrived: the bus or bridge is not carrying publishes.
 */
async function warmUp(target, running, messageBytes) {
  let received = 0;
  const warmers = [];
  for (const endpoint of running.subscribers)
    warmers.push(await openClient(endpoint, target.paths.subscribe, target.protocol, () => (received += 1)));
  const publisher = await openClient(running.publisher, target.paths.publish, target.protocol, () => {});
  const send = publishOf(target, publisher, messageBytes);
  for (let sent = 0; sent < WARM_PUBLISHES; sent += WARM_PER_MS) {
    for (let i = 0; i < WARM_PER_MS; i += 1) send();
    await sleep(1);
  }
  await sleep(DRAIN_MS);
  for (const { socket } of [...warmers, publisher]) socket.destroy();
  await sleep(300);
  const expected = WARM_PUBLISHES * warmers.length;
  if (received < expected * 0.9) throw new Error(`${target.id}: the warm-up delivered ${received} of ${expected}`);
}

/**
 * Opens a broadcast session on a started target: warm-up (unless `warm` is false), `subscribers` subscribers spread
 * over its processes, one publisher, every subscriber checked to have joined. `step({ publishesPerSecond, warmupS,
 * durationS })` then runs one step and resolves with its result; `close()` closes the connections. Sessions on several
 * targets can be open at once (bench/broadcast.js --interleave runs their steps in turn).
 * `running`: { subscribers: [{host, port}], publisher: {host, port}, collect() → [{pid, role}] }. `client: "c"`: the
 * same session held by the C client (`cload -B`, broadcast-c.js) instead of this process.
 */
export async function openBroadcast(target, running, { subscribers, messageBytes, warm = true, client = "node" }) {
  if (client === "c") return openBroadcastC(target, running, { subscribers, messageBytes, warm });
  const histogram = createLatencyHistogram();
  // The same latencies split by side: subscribers on the publisher's own process, and on the others (whose copy
  // crossed the bus or bridge first). The remote side's p50 less the local side's is what the crossing adds.
  const bySide = { local: createLatencyHistogram(), remote: createLatencyHistogram() };
  const state = { recording: false, windowStartUs: 0, windowEndUs: 0, delivered: 0, deliveredAll: 0 };
  const onDataOf = (side) => (buffer, offset) => {
    state.deliveredAll += 1;
    if (!state.recording) return;
    const sentUs = readStamp(buffer, offset);
    if (sentUs < state.windowStartUs || sentUs >= state.windowEndUs) return;
    state.delivered += 1;
    const latencyUs = Math.max(1, Math.round(performance.now() * 1000 - sentUs));
    histogram.recordValue(latencyUs);
    side.recordValue(latencyUs);
  };
  const sameEndpoint = (a, b) => a.host === b.host && a.port === b.port;
  if (warm) await warmUp(target, running, messageBytes);
  /** Subscriber `i`: its connection, and whether it has heard a publish since it was opened. */
  const openSubscriber = async (i) => {
    const endpoint = running.subscribers[i % running.subscribers.length];
    const onData = onDataOf(sameEndpoint(endpoint, running.publisher) ? bySide.local : bySide.remote);
    const client = { heard: false };
    const opened = await openClient(endpoint, target.paths.subscribe, target.protocol, (buffer, offset) => {
      client.heard = true;
      onData(buffer, offset);
    });
    return Object.assign(client, opened);
  };
  const clients = [];
  for (let i = 0; i < subscribers; i += 1) clients.push(await openSubscriber(i));
  let publisher = await openClient(running.publisher, target.paths.publish, target.protocol, () => {});
  let publish = publishOf(target, publisher, messageBytes);
  /** Probe publishes until every one of `fresh` has heard one (socket.io joins after its connect packet). */
  const untilHeard = async (fresh) => {
    for (let tries = 0; fresh.some((client) => !client.heard) && tries < 100; tries += 1) {
      publish();
      await sleep(100);
    }
  };
  await untilHeard(clients);
  /**
   * Before each step, every subscriber (and the publisher) that the server dropped is opened again, so each step
   * starts with all of them: socket.io drops clients it cannot keep up with at 200-400 publishes/s, and with
   * --interleave a session outlives many steps. Returns how many subscribers were reopened.
   */
  const rejoin = async () => {
    if (publisher.socket.destroyed) {
      publisher = await openClient(running.publisher, target.paths.publish, target.protocol, () => {});
      publish = publishOf(target, publisher, messageBytes);
    }
    const fresh = [];
    for (let i = 0; i < clients.length; i += 1)
      if (clients[i].socket.destroyed) {
        clients[i] = await openSubscriber(i);
        fresh.push(clients[i]);
      }
    await untilHeard(fresh);
    if (fresh.length > 0) await sleep(DRAIN_MS);
    return fresh.length;
  };

  async function step({ publishesPerSecond, warmupS, durationS }) {
    const rejoined = await rejoin();
    let windowPublished = 0;
    let publishing = true;
    let nextAt = performance.now();
    const intervalMs = 1000 / publishesPerSecond;
    const ticker = setInterval(() => {
      const now = performance.now();
      while (publishing && nextAt <= now) {
        publish();
        if (state.recording && now * 1000 < state.windowEndUs) windowPublished += 1;
        nextAt += intervalMs;
      }
    }, 1);
    await sleep(warmupS * 1000);
    const processes = running.collect();
    histogram.reset();
    bySide.local.reset();
    bySide.remote.reset();
    state.delivered = 0;
    state.windowStartUs = performance.now() * 1000;
    state.windowEndUs = state.windowStartUs + durationS * 1e6;
    state.recording = true;
    const cpuStart = cpuByRole(processes);
    const clientStart = process.cpuUsage();
    const softirqStart = machineSoftirqUs();
    const startedAt = performance.now();
    await sleep(durationS * 1000);
    publishing = false;
    clearInterval(ticker);
    await sleep(DRAIN_MS);
    state.recording = false;
    const cpuUsByRole = cpuBetween(cpuStart, cpuByRole(processes));
    const client = process.cpuUsage(clientStart);
    const softirqUs = machineSoftirqUs() - softirqStart;
    const result = stepResult({
      step: { publishesPerSecond, durationS },
      subscribers,
      publishes: windowPublished,
      delivered: state.delivered,
      histogram,
      bySide,
      cpuUsByRole,
      // This process: the publisher and every subscriber (with --interleave, the other targets' idle ones too).
      clientUs: client.user + client.system,
      softirqUs,
      elapsedS: (performance.now() - startedAt) / 1000,
      rejoined,
    });
    await settle(processes);
    return result;
  }

  function close() {
    for (const { socket } of [...clients, publisher]) socket.destroy();
  }
  return { step, close };
}

/** Runs every step (publishes per second) against a started target and resolves with one result per step. */
export async function runBroadcast(target, running, { steps, log = () => {}, ...options }) {
  const session = await openBroadcast(target, running, options);
  const results = [];
  try {
    for (const step of steps) {
      const result = await session.step(step);
      results.push(result);
      log(result);
    }
  } finally {
    session.close();
  }
  return results;
}

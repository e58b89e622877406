/**
 * What the closed-loop (echo) and open-loop (rate) scenarios share: pre-built frames written in batches, one
 * reader per connection that times each echo against the send time queued for it, and the drain at the end.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
  buildMaskedFrame,
  buildPayload,
  FrameReader,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  repeatFrame,
} from "../frames.js";
import { DRAIN_MS, measuredResult, measuredWindow, newErrors, newMeasuredState } from "./measure.js";
import { openMany } from "./open-many.js";
import { TimeQueue } from "./time-queue.js";

/**
 * Opens the connections, lets `loop.start(live, send)` put the first messages in flight (it returns a stop
 * function), measures, drains, and returns the measured result under `loop.mode`.
 * loop: { mode, depth (messages in flight per connection), batchFrames (most frames in one write),
 * resendOnEcho (closed loop: every echo is answered with a new message), start(live, send, state) }.
 * `send(conn, n)` counts n messages in flight and writes them; the caller has queued their send times.
 */
export async function runEchoLoad(settings, hooks, loop) {
  const errors = newErrors();
  const opcode = settings.binary ? OPCODE_BINARY : OPCODE_TEXT;
  const frame = buildMaskedFrame(opcode, buildPayload(settings.messageBytes));
  const frameBytes = frame.length;
  const batch = repeatFrame(frame, loop.batchFrames);
  const state = { ...newMeasuredState(), sending: true, inFlight: 0 };
  const histogram = state.histogram;
  const writeFrames = (socket, n) => {
    if (n === 1) socket.write(frame);
    else if (n <= batch.length / frameBytes) socket.write(batch.subarray(0, n * frameBytes));
    else for (let i = 0; i < n; i += 1) socket.write(frame);
  };
  const send = (conn, n) => {
    state.inFlight += n;
    writeFrames(conn.socket, n);
  };

  const connections = await openMany(settings, settings.connections, errors);
  const pong = (socket) => (op, payload) => {
    if (op === OPCODE_PING) socket.write(buildMaskedFrame(OPCODE_PONG, payload));
    else if (op === OPCODE_CLOSE) socket.destroy();
  };
  const live = connections.map(({ socket, leftover, setReader }) => {
    const conn = { socket, queue: new TimeQueue(loop.depth * 2), nextSendAt: 0 };
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
      if (loop.resendOnEcho && state.sending) {
        for (let i = 0; i < n; i += 1) queue.push(now);
        send(conn, n);
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

  const stop = loop.start(live, send, state);
  await measuredWindow(settings, hooks, state);
  state.sending = false;
  stop();
  const drainUntil = performance.now() + DRAIN_MS;
  while (state.inFlight > 0 && performance.now() < drainUntil) await sleep(10);
  if (state.inFlight > 0) errors.timeouts += state.inFlight;
  for (const { socket } of live) socket.destroy();
  return measuredResult(loop.mode, live.length, state, errors);
}

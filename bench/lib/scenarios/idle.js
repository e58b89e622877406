/** Holds `idle` connections open, doing nothing, for the duration; memory is sampled by whoever watches pids. */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { buildMaskedFrame, FrameReader, OPCODE_PING, OPCODE_PONG } from "../frames.js";
import { createLatencyHistogram } from "../stats.js";
import { newErrors } from "./measure.js";
import { openMany } from "./open-many.js";

/** hooks: onIdleBaseline() before the connections open, onMeasureStart() and onMeasureEnd() around the hold. */
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

export const idle = {
  name: "idle",
  matches: (settings) => settings.mode === "idle",
  run: runIdle,
};

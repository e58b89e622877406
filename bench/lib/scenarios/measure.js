/**
 * What the scenarios that exchange messages share: error counts, the warm-up and measured window with its
 * per-second samples and CPU time, and the shape of what a measured run returns.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { createLatencyHistogram } from "../stats.js";

/** How long answers still in flight are waited for once the measured window ends. */
export const DRAIN_MS = 2000;

export function newErrors() {
  return { connect: 0, closed: 0, timeouts: 0, lastMessage: "" };
}

/** The counters a scenario updates and measuredWindow() resets, samples and closes. */
export function newMeasuredState() {
  return {
    histogram: createLatencyHistogram(),
    recording: false,
    msgs: 0,
    bytes: 0,
    secondMsgs: [],
    secondBytes: [],
    cpuUs: 0,
    measuredMs: 0,
  };
}

/**
 * Warm-up first, then the measured window: counters and histogram are reset at its start.
 * hooks: onMeasureStart(), onMeasureEnd(), onSecond(msgs, bytes): called at the edges of the measured window.
 */
export async function measuredWindow(settings, hooks, state) {
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
}

/** What a measured run returns, whatever its mode: the window's histogram, per-second samples, totals and CPU. */
export function measuredResult(mode, connectionsOpened, state, errors) {
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

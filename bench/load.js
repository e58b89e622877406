#!/usr/bin/env node
/**
 * wsfleet-bench: an autocannon-style WebSocket load generator. Pre-built masked frames on raw TCP sockets and a
 * frame reader that only counts, so its own cost per echo stays small next to the server's.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runCload } from "./lib/cload.js";
import { parseLoadOptions, shareOf, USAGE, UsageError } from "./lib/options.js";
import { printProgress, printResult } from "./lib/print.js";
import { buildResult } from "./lib/result.js";
import { runScenario } from "./lib/scenarios/index.js";
import { createLatencyHistogram, decodeHistogram, encodeHistogram } from "./lib/stats.js";
import { ProcessWatch } from "./lib/watch.js";

const SELF = fileURLToPath(import.meta.url);

/** A child load process: runs its share and reports to the parent over IPC. */
async function runChild(settings) {
  const partial = await runScenario(settings, {
    onMeasureStart: () => process.send({ type: "measuring" }),
    onMeasureEnd: () => process.send({ type: "measured" }),
    onSecond: (msgs, bytes) => process.send({ type: "second", msgs, bytes }),
  });
  const { histogram, ...rest } = partial;
  process.send({ type: "result", partial: { ...rest, histogram: encodeHistogram(histogram) } }, () => process.exit(0));
}

/** Runs the load in this process, or in `procs` children, and returns the combined result. */
export async function runLoad(settings, { onProgress } = {}) {
  const watch = new ProcessWatch(settings.pids);
  const totalSeconds = Math.round(settings.durationMs / 1000);
  if (settings.client === "c") {
    const partial = await runCload(settings, {
      onMeasureStart: () => watch.markStart(),
      onMeasureEnd: () => watch.markEnd(),
    });
    return buildResult({
      settings,
      partials: [partial],
      histogram: partial.histogram,
      watched: watch.report(partial.measuredMs),
    });
  }
  if (settings.procs === 1) {
    let second = 0;
    const partial = await runScenario(settings, {
      onIdleBaseline: () => watch.markBaseline(),
      onMeasureStart: () => watch.markStart(),
      onMeasureEnd: () => watch.markEnd(),
      onSecond: (msgs) => {
        second += 1;
        onProgress?.(second, totalSeconds, msgs);
      },
    });
    return buildResult({
      settings,
      partials: [partial],
      histogram: partial.histogram,
      watched: watch.report(partial.measuredMs),
    });
  }
  return runProcs(settings, watch, totalSeconds, onProgress);
}

async function runProcs(settings, watch, totalSeconds, onProgress) {
  const count = settings.procs;
  const children = [];
  const perSecond = [];
  let measuring = 0;
  let measured = 0;
  let parentCpuStart = null;
  let parentCpuUs = 0;
  watch.markBaseline();
  const results = [];
  for (let i = 0; i < count; i += 1) {
    const share = {
      ...settings,
      connections: Math.max(1, shareOf(settings.connections, i, count)),
      idle: shareOf(settings.idle, i, count),
      ratePerSecond: settings.ratePerSecond > 0 ? Math.max(1, shareOf(settings.ratePerSecond, i, count)) : 0,
      procs: 1,
      pids: [],
    };
    const child = fork(SELF, ["--child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.send(share);
    const seconds = [];
    perSecond.push(seconds);
    children.push(
      new Promise((resolve, reject) => {
        child.on("message", (message) => {
          if (message.type === "measuring" && ++measuring === count) {
            watch.markStart();
            parentCpuStart = process.cpuUsage();
          } else if (message.type === "measured" && ++measured === count) {
            watch.markEnd();
            const cpu = process.cpuUsage(parentCpuStart);
            parentCpuUs = cpu.user + cpu.system;
          } else if (message.type === "second") {
            seconds.push(message.msgs);
            const second = Math.min(...perSecond.map((s) => s.length));
            if (perSecond.every((s) => s.length >= second) && seconds.length === second) {
              onProgress?.(
                second,
                totalSeconds,
                perSecond.reduce((a, s) => a + (s[second - 1] ?? 0), 0),
              );
            }
          } else if (message.type === "result") {
            results[i] = message.partial;
          }
        });
        child.on("exit", (code) =>
          code === 0 && results[i] ? resolve() : reject(new Error(`load process ${i} exited with ${code}`)),
        );
      }),
    );
  }
  await Promise.all(children);
  const histogram = createLatencyHistogram();
  for (const r of results) histogram.add(decodeHistogram(r.histogram));
  const measuredMs = Math.max(...results.map((r) => r.measuredMs));
  return buildResult({ settings, partials: results, histogram, watched: watch.report(measuredMs), parentCpuUs });
}

async function main() {
  if (process.argv[2] === "--child") {
    process.once("message", (share) => runChild(share));
    return;
  }
  let settings;
  try {
    settings = parseLoadOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`wsfleet-bench: ${error.message}\n`);
    process.exit(2);
  }
  if (settings.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const tty = process.stderr.isTTY && !settings.json;
  const result = await runLoad(settings, {
    onProgress: tty ? (s, t, m) => process.stderr.write(printProgress(s, t, m)) : undefined,
  });
  if (tty) process.stderr.write("\n");
  if (settings.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stderr.write(printResult(result));
}

if (process.argv[1] === SELF) await main();

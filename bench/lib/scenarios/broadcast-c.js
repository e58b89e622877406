/**
 * The broadcast session held by the C client (`cload -B`, bench/cload/broadcast.c) instead of this process:
 * `bench/broadcast.js --client c`. The Node client costs about 10 µs of CPU per delivery at 50,000 deliveries/s, more
 * than the servers it measures on the same 2 cores; the C one reads the same 1,000 subscribers for a fraction of
 * that. Same warm-up, subscribers, publisher, steps and result as openBroadcast; the client CPU is the C process's.
 * One C process per target, so with --interleave the idle targets' subscribers sit in their own processes.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { ensureCload } from "../cload.js";
import { cpuByRole, machineSoftirqUs } from "../proc.js";
import { createLatencyHistogram } from "../stats.js";
import { cpuBetween, settle, stepResult, WARM_PUBLISHES } from "./broadcast-step.js";

const READY_TIMEOUT_MS = 120_000;

const endpointText = ({ host, port }) => `${host}:${port}`;

/** [µs, count] buckets from cload into an HDR histogram. */
function histogramOf(buckets) {
  const histogram = createLatencyHistogram();
  for (const [us, count] of buckets) histogram.recordValueWithCount(Math.max(1, us), count);
  return histogram;
}

/**
 * Starts `cload -B` on a started target and resolves once its subscribers are in, with { step, close } as
 * openBroadcast's. Rejects with cload's error (a refused handshake, a warm-up that did not arrive).
 */
export async function openBroadcastC(target, running, { subscribers, messageBytes, warm = true }) {
  const args = ["-B", "-s", running.subscribers.map(endpointText).join(","), "-p", endpointText(running.publisher)];
  args.push("-u", target.paths.subscribe, "-U", target.paths.publish, "-n", String(subscribers));
  args.push("-m", String(messageBytes), ...(warm ? ["-W", String(WARM_PUBLISHES)] : []));
  if (target.protocol === "socket.io") args.push("-S");
  const child = spawn(ensureCload(), args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  /** stdout's JSON lines and stderr's marks, each to the one waiting for it. */
  const waiting = { line: [], mark: [] };
  const lines = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const next = waiting.line.shift();
    if (next) next.resolve(JSON.parse(line));
    else lines.push(line);
  });
  createInterface({ input: child.stderr }).on("line", (line) => {
    if (line === "measuring" || line === "measured") waiting.mark.shift()?.resolve(line);
    else stderr += `${line}\n`;
  });
  const exited = new Promise((resolve) => child.on("close", resolve));
  exited.then((code) => {
    const error = new Error(`cload -B exited with ${code}: ${stderr}${lines.join("\n")}`);
    for (const w of [...waiting.line, ...waiting.mark]) w.reject(error);
  });
  const next = (kind) =>
    new Promise((resolve, reject) => {
      if (kind === "line" && lines.length > 0) resolve(JSON.parse(lines.shift()));
      else waiting[kind].push({ resolve, reject });
    });
  let timer;
  const ready = await Promise.race([
    next("line"),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cload -B not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  if (ready.error) {
    child.kill();
    throw new Error(`${target.id}: cload -B: ${ready.error}`);
  }

  async function step({ publishesPerSecond, warmupS, durationS }) {
    const measuring = next("mark");
    const measured = next("mark");
    const answer = next("line");
    child.stdin.write(`step ${publishesPerSecond} ${Math.round(warmupS * 1000)} ${Math.round(durationS * 1000)}\n`);
    await measuring;
    const processes = running.collect();
    const cpuStart = cpuByRole(processes);
    const softirqStart = machineSoftirqUs();
    const startedAt = performance.now();
    await measured;
    const cpuUsByRole = cpuBetween(cpuStart, cpuByRole(processes));
    const softirqUs = machineSoftirqUs() - softirqStart;
    const elapsedS = (performance.now() - startedAt) / 1000;
    const raw = await answer;
    const result = stepResult({
      step: { publishesPerSecond, durationS },
      subscribers,
      publishes: raw.publishes,
      delivered: raw.delivered,
      histogram: histogramOf(raw.latencyUs),
      bySide: { local: histogramOf(raw.localUs), remote: histogramOf(raw.remoteUs) },
      cpuUsByRole,
      // The C process: the publisher and this target's subscribers.
      clientUs: raw.cpuUs,
      softirqUs,
      elapsedS,
      rejoined: raw.rejoined,
    });
    await settle(processes);
    return result;
  }

  function close() {
    child.stdin.end("quit\n");
  }
  return { step, close, exited };
}

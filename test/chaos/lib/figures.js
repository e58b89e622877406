import { readFileSync, writeFileSync } from "node:fs";

/** Where `npm run test:chaos` collects figures (docs/reliability.json); unset in `npm test`, which records nothing. */
const OUT = process.env.WSFLEET_RELIABILITY_JSON;

/**
 * Adds one scenario's figures to the run's JSON: `title`, `passed` (set by `passes` below), `figures` (label → value)
 * and optional `rows` (a table) and `notes`. Called before the assertions, so a failing scenario still shows what it saw.
 */
export function recordFigures(key, record) {
  if (!OUT) return;
  const doc = JSON.parse(readFileSync(OUT, "utf8"));
  doc.scenarios[key] = { ...doc.scenarios[key], ...record, measuredAt: new Date().toISOString() };
  writeFileSync(OUT, `${JSON.stringify(doc, null, 2)}\n`);
}

/** Runs the scenario's assertions and records whether they held. */
export async function checked(key, assertions) {
  try {
    await assertions();
    recordFigures(key, { passed: true });
  } catch (error) {
    recordFigures(key, { passed: false, failure: String(error.message ?? error).split("\n")[0] });
    throw error;
  }
}

/** The largest count of `times` (ms) in any window of `windowMs`, scaled to a per-second rate. */
export function peakRate(times, windowMs) {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end] - sorted[start] >= windowMs) start += 1;
    peak = Math.max(peak, end - start + 1);
  }
  return Math.round((peak * 1000) / windowMs);
}

export function percentile(values, fraction) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** Resident memory of `pid` in bytes, from /proc. */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** CPU time (user + system) `pid` has used, in ms, from /proc (clock ticks of 10 ms). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

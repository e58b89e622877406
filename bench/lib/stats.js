/** Turning raw counts into reported figures: HDR histogram summaries and per-second sample statistics. */
import * as hdr from "hdr-histogram-js";

/** Latencies are recorded in microseconds, 1 µs to 2 min at 3 significant digits. */
export function createLatencyHistogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    useWebAssembly: false,
  });
}

export function encodeHistogram(histogram) {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(base64) {
  return hdr.decodeFromCompressedBase64(base64, 32, false);
}

/** autocannon's latency columns, in microseconds. */
export function summarizeLatency(histogram) {
  if (histogram.totalCount === 0) {
    return { count: 0, p2_5: 0, p50: 0, p97_5: 0, p99: 0, p99_9: 0, avg: 0, stdev: 0, min: 0, max: 0 };
  }
  const at = (p) => histogram.getValueAtPercentile(p);
  return {
    count: histogram.totalCount,
    p2_5: at(2.5),
    p50: at(50),
    p97_5: at(97.5),
    p99: at(99),
    p99_9: at(99.9),
    avg: round(histogram.mean, 1),
    stdev: round(histogram.stdDeviation, 1),
    min: histogram.minNonZeroValue,
    max: histogram.maxValue,
  };
}

/** Statistics of per-second samples, as autocannon reports requests/s. */
export function summarizeSamples(samples) {
  if (samples.length === 0) return { avg: 0, stdev: 0, min: 0, max: 0, samples: [] };
  const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
  const variance = samples.reduce((a, b) => a + (b - avg) ** 2, 0) / samples.length;
  return {
    avg: Math.round(avg),
    stdev: Math.round(Math.sqrt(variance)),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
  };
}

/** Adds per-second sample arrays of several processes index by index. */
export function addSamples(arrays) {
  const length = Math.max(0, ...arrays.map((a) => a.length));
  const out = new Array(length).fill(0);
  for (const a of arrays) for (let i = 0; i < a.length; i += 1) out[i] += a[i];
  return out;
}

export function round(value, digits = 2) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Repetitions (pure): when a target's rate settled, the median repetition of a row, and the figures kept of each. */

/**
 * The second after which a fresh target's rate stayed settled: from there on, every 3-second mean is at least 80 %
 * of the median second of the second half (single seconds on a shared machine dip more than that). null when the
 * samples are too few to tell, or it never settled before the last 3 seconds.
 */
export function settledAfterS(secondMsgs) {
  if (secondMsgs.length < 6) return null;
  const settledRate = median(secondMsgs.slice(Math.floor(secondMsgs.length / 2)));
  const mean3 = (i) => (secondMsgs[i] + secondMsgs[i + 1] + secondMsgs[i + 2]) / 3;
  let settled = null;
  for (let i = secondMsgs.length - 3; i >= 0; i -= 1) {
    if (mean3(i) < 0.8 * settledRate) break;
    settled = i;
  }
  return settled;
}

/** What a report keeps of one repetition. */
export function repetitionFigures(result) {
  return {
    msgsPerSecond: result.msgsPerSecondOverall,
    serverCpuUsPerMessage: result.serverCpuUsPerMessage,
    p50: result.latencyUs.p50,
    p99: result.latencyUs.p99,
    client: result.client.name,
    clientCpuPercent: result.client.cpuPercent,
    clientUserUsPerMessage: result.client.cpuUserUsPerMessage,
    clientSaturated: result.client.saturated,
    errors: result.errors.total,
  };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median repetition by msgs/s (the lower middle one of an even count), with every repetition's figures. */
export function medianRow(rows) {
  const sorted = [...rows].sort((a, b) => a.result.msgsPerSecondOverall - b.result.msgsPerSecondOverall);
  const chosen = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...chosen, repetitions: rows.map((r) => repetitionFigures(r.result)) };
}

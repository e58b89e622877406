/** How often a spread drain closes the next batch: fine enough that 4,000 closes over 2 s go 20 at a time. */
export const SPREAD_TICK_MS = 10;

/**
 * How many of `total` connections a spread drain has closed `elapsedMs` into a window of `spreadMs`: connection i
 * closes at i × spreadMs / total, so the first goes at once and the last just before the window ends.
 */
export function closedBy(total: number, spreadMs: number, elapsedMs: number): number {
  if (spreadMs <= 0 || elapsedMs >= spreadMs) return total;
  return Math.min(total, Math.floor((total * Math.max(0, elapsedMs)) / spreadMs) + 1);
}

/** What a chaos scenario reads from a primary's JSON log: which workers run, with which pid, and a seeded dice. */

const LIFECYCLE = new Set(["spawned", "running", "exited", "stopped", "fatal", "killed"]);

/** The latest lifecycle event of each worker and of haproxy (its events are prefixed `haproxy-`), prefix removed. */
export function latestStates(primary) {
  const latest = new Map();
  for (const event of primary.events) {
    const name = event.event?.replace(/^haproxy-/, "");
    if (event.worker && LIFECYCLE.has(name)) latest.set(event.worker, { ...event, event: name });
  }
  return latest;
}

/** Names and pids of the workers RUNNING now (not haproxy). */
export function runningWorkers(primary) {
  return [...latestStates(primary)]
    .filter(([name, event]) => name !== "haproxy" && event.event === "running")
    .map(([name, event]) => ({ name, pid: event.pid }));
}

/** mulberry32: a small seeded generator, so a run's random choices can be replayed from its seed. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

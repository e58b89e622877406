/** Scenarios with clients sending through --haproxy while something breaks: workers, deploys, HAProxy itself. */
import assert from "node:assert/strict";
import { eventually, FIXTURES, sleep, TIMEOUT_FACTOR } from "../../helpers/fleet.js";
import { allUp, startHaproxyFleet } from "../../helpers/haproxy.js";
import { startReconnectingClients } from "../../helpers/load.js";
import { checked, peakRate, percentile, recordFigures } from "./figures.js";
import { latestStates, runningWorkers, seededRandom } from "./fleet-state.js";

const NORMAL_CLOSES = new Set(["1000", "1001", "1012"]);

function abnormalCloses(closeCodes) {
  return Object.entries(closeCodes)
    .filter(([code]) => !NORMAL_CLOSES.has(code))
    .reduce((sum, [, count]) => sum + count, 0);
}

/** Starts `clients` reconnecting clients and waits until all are open and echoing. */
async function flowingClients(t, url, count, options = {}) {
  const clients = startReconnectingClients(url, count, { rampMs: count, ...options });
  t.after(() => clients.stop());
  assert.ok(await clients.flowing(30_000), `all ${count} clients open and echoing (open: ${clients.openCount()})`);
  return clients;
}

/**
 * kill -9 a random RUNNING worker every `everyMs` for `forMs` under `clients` clients sending through HAProxy.
 * Every worker comes back; only clients of a killed worker see an abnormal close.
 */
export async function workerCrashes(
  t,
  key,
  { workers = 4, clients: count = 200, everyMs = 2000, forMs = 30_000, seed = 13 },
) {
  const fleet = await startHaproxyFleet(t, workers, ["--app", `${FIXTURES}named-echo-app.mjs`]);
  const clients = await flowingClients(t, fleet.url, count, { identify: true });
  const random = seededRandom(seed);
  const kills = [];
  const startedAt = performance.now();
  while (performance.now() - startedAt < forMs) {
    const running = runningWorkers(fleet.primary);
    if (running.length > 0) {
      const victim = running[Math.floor(random() * running.length)];
      kills.push({
        worker: victim.name,
        pid: victim.pid,
        at: performance.now(),
        wall: Date.now(),
        eventIndex: fleet.primary.events.length,
      });
      process.kill(victim.pid, "SIGKILL");
    }
    await sleep(everyMs);
  }
  const allBack = await eventually(() => runningWorkers(fleet.primary).length === workers, 10_000);
  const haproxyUp = await allUp(fleet.runtime, workers, 10_000);
  await clients.flowing(10_000);
  const returnMs = kills.map((kill) => {
    const back = fleet.primary.events
      .slice(kill.eventIndex)
      .find((event) => event.event === "running" && event.worker === kill.worker);
    return back ? (back.time !== undefined ? Date.parse(back.time) - kill.wall : undefined) : undefined;
  });
  const stats = await clients.stop();
  // A close is explained when the worker that served it was killed at most 3 s before.
  const unexplained = stats.closes.filter(
    (close) =>
      !kills.some(
        (kill) => kill.worker === close.worker && close.at >= kill.at && close.at - kill.at < 3000 * TIMEOUT_FACTOR,
      ),
  );
  const known = returnMs.filter((ms) => ms !== undefined);
  recordFigures(key, {
    title: "Worker crashes under load",
    what: `--haproxy, ${workers} workers, ${count} clients each sending a message every 100 ms; kill -9 of a random RUNNING worker every ${everyMs / 1000} s for ${forMs / 1000} s (seed ${seed}).`,
    figures: {
      "workers killed": kills.length,
      "worker return time (kill → RUNNING), median ms": percentile(known, 0.5),
      "worker return time, max ms": known.length ? Math.max(...known) : null,
      "clients closed abnormally (all of killed workers)": abnormalCloses(stats.closeCodes),
      "abnormal closes on workers not killed": unexplained.length,
      "failed handshakes (reconnects refused)": stats.failedHandshakes,
      "echoes checked": stats.echoes,
      "wrong echoes": stats.wrongEchoes,
      "every worker RUNNING and UP in HAProxy at the end": allBack && haproxyUp,
    },
    notes: stats.failures.length
      ? [`handshake failures seen: ${[...new Set(stats.failures)].slice(0, 5).join("; ")}`]
      : [],
  });
  await checked(key, () => {
    assert.ok(allBack, "every worker is RUNNING again");
    assert.ok(haproxyUp, "HAProxy sees every worker UP again");
    assert.equal(known.length, kills.length, "every killed worker came back");
    assert.deepEqual(unexplained, [], "no client of a worker that was not killed saw its connection close");
    assert.equal(stats.wrongEchoes, 0);
  });
}

/** A rolling restart (SIGHUP) under `count` clients through HAProxy: every worker replaced, nothing fails. */
export async function rollingRestartUnderLoad(t, key, { workers = 4, clients: count = 1000, intervalMs = 200 }) {
  const fleet = await startHaproxyFleet(t, workers);
  const clients = await flowingClients(t, fleet.url, count, { intervalMs });
  const before = new Map(runningWorkers(fleet.primary).map((each) => [each.name, each.pid]));
  const from = fleet.primary.events.length;
  const startedAt = Date.now();
  fleet.primary.child.kill("SIGHUP");
  const done = await fleet.primary
    .waitForEvent((event) => event.event === "reload" && event.message === "rolling restart done", 120_000)
    .then(
      () => true,
      () => false,
    );
  const restartSecs = (Date.now() - startedAt) / 1000;
  const after = new Map(runningWorkers(fleet.primary).map((each) => [each.name, each.pid]));
  const replaced = [...before].filter(([name, pid]) => after.get(name) !== undefined && after.get(name) !== pid).length;
  const flowing = await clients.flowing(15_000);
  const stats = await clients.stop();
  recordFigures(key, {
    title: "Rolling restart under 1,000 reconnecting clients",
    what: `--haproxy, ${workers} workers, ${count} clients each sending a message every ${intervalMs} ms and reconnecting at once when closed; SIGHUP to the primary.`,
    figures: {
      "workers replaced": `${replaced} of ${workers}`,
      "rolling restart took, s": restartSecs,
      "closed with 1012 and reconnected": stats.closeCodes[1012] ?? 0,
      "failed handshakes": stats.failedHandshakes,
      "wrong echoes": stats.wrongEchoes,
      "abnormal closes": abnormalCloses(stats.closeCodes),
      "echoes checked": stats.echoes,
      "reconnect handshake p99, ms": percentile(
        stats.opens.slice(count).map((each) => each.ms),
        0.99,
      ),
    },
    notes: stats.failures.length
      ? [`handshake failures seen: ${[...new Set(stats.failures)].slice(0, 5).join("; ")}`]
      : [],
  });
  await checked(key, () => {
    assert.ok(done, "the rolling restart finished");
    assert.equal(replaced, workers, "every worker was replaced");
    assert.ok(flowing, "every client is open and echoing afterwards");
    assert.equal(stats.failedHandshakes, 0, `failed handshakes: ${stats.failures.slice(0, 3)}`);
    assert.equal(stats.wrongEchoes, 0);
    assert.equal(abnormalCloses(stats.closeCodes), 0, JSON.stringify(stats.closeCodes));
    assert.equal(
      fleet.primary.events.slice(from).filter((event) => event.event === "killed").length,
      0,
      "no worker SIGKILLed",
    );
  });
}

/** kill -9 of HAProxy under `count` clients: it is restarted and traffic resumes; how long that takes. */
export async function haproxyKilled(t, key, { workers = 2, clients: count = 200, kills = 3 }) {
  const fleet = await startHaproxyFleet(t, workers);
  const clients = await flowingClients(t, fleet.url, count);
  const resumeMs = [];
  for (let round = 0; round < kills; round += 1) {
    const haproxy = latestStates(fleet.primary).get("haproxy");
    assert.equal(haproxy?.event, "running", "haproxy is RUNNING before the kill");
    const from = fleet.primary.events.length;
    const killedAt = Date.now();
    process.kill(haproxy.pid, "SIGKILL");
    await fleet.primary.waitForEvent(
      (event) => fleet.primary.events.indexOf(event) >= from && event.event === "haproxy-running",
      20_000,
    );
    const flowing = await clients.flowing(20_000);
    resumeMs.push(flowing ? Date.now() - killedAt : null);
    // Supervisor's back-off counts crashes within 30 s; a pause keeps each kill a first crash.
    await sleep(1000);
  }
  const stats = await clients.stop();
  recordFigures(key, {
    title: "HAProxy killed under load",
    what: `--haproxy, ${workers} workers, ${count} clients sending and reconnecting; kill -9 of haproxy, ${kills} times.`,
    figures: {
      kills: kills,
      "kill → every client open and echoing again, ms": resumeMs.join(", "),
      "failed handshakes while it was down": stats.failedHandshakes,
      "wrong echoes": stats.wrongEchoes,
    },
  });
  await checked(key, () => {
    assert.ok(
      resumeMs.every((ms) => ms !== null),
      "traffic resumed after every kill",
    );
    assert.equal(stats.wrongEchoes, 0);
  });
}

/**
 * The peak handshake rate HAProxy sees during a rolling restart with `count` connected clients, for each
 * --drain-spread in `spreads`: HAProxy's own MaxSessRate (per second) and the clients' count per 100 ms window.
 */
export async function drainSpreadPeaks(
  t,
  key,
  { workers = 4, clients: count = 4000, spreads = [0, 2], drainTimeout = 1 },
) {
  const rows = [];
  for (const spread of spreads) {
    const fleet = await startHaproxyFleet(t, workers, [
      "--drain-spread",
      String(spread),
      "--drain-timeout",
      String(drainTimeout),
    ]);
    const clients = await flowingClients(t, fleet.url, count, { intervalMs: 10_000, rampMs: 4000 });
    const fromOpens = clients.stats.opens.length;
    await fleet.runtime.send("clear counters");
    const startedAt = Date.now();
    fleet.primary.child.kill("SIGHUP");
    await fleet.primary.waitForEvent(
      (event) => event.event === "reload" && event.message === "rolling restart done",
      180_000,
    );
    const restartSecs = (Date.now() - startedAt) / 1000;
    await clients.flowing(20_000);
    const info = await fleet.runtime.send("show info");
    const field = (name) => Number(new RegExp(`^${name}: (\\d+)`, "m").exec(info)?.[1]);
    const reconnects = clients.stats.opens.slice(fromOpens);
    const stats = await clients.stop();
    fleet.primary.kill();
    await fleet.primary.exited;
    rows.push({
      "--drain-spread, s": spread,
      reconnects: reconnects.length,
      "HAProxy MaxSessRate, /s": field("MaxSessRate"),
      "HAProxy MaxConnRate, /s": field("MaxConnRate"),
      "clients: peak in 100 ms, as /s": peakRate(
        reconnects.map((each) => each.at),
        100,
      ),
      "clients: peak in 1 s, /s": peakRate(
        reconnects.map((each) => each.at),
        1000,
      ),
      "reconnect handshake p50, ms": Math.round(
        percentile(
          reconnects.map((each) => each.ms),
          0.5,
        ),
      ),
      "reconnect handshake p99, ms": Math.round(
        percentile(
          reconnects.map((each) => each.ms),
          0.99,
        ),
      ),
      "failed handshakes": stats.failedHandshakes,
      "abnormal closes": abnormalCloses(stats.closeCodes),
      "rolling restart, s": restartSecs,
    });
  }
  recordFigures(key, {
    title: "Spread drains: reconnect peak during a rolling restart",
    what: `--haproxy, ${workers} workers, ${count} connected clients (a message every 10 s each) that reconnect at once when closed; SIGHUP; --drain-timeout ${drainTimeout}. HAProxy's MaxSessRate is its own peak of new sessions per second since \`clear counters\` (sent just before the SIGHUP); the clients count their own successful handshakes.`,
    rows,
  });
  return rows;
}

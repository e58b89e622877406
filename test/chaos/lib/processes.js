/** Scenarios about processes: the primary SIGKILLed at random moments, and a worker in a crash loop. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { FIXTURES, sleep, startPrimary, TIMEOUT_FACTOR } from "../../helpers/fleet.js";
import { accepts, marked } from "../../helpers/leftovers.js";
import { freePortRange } from "../../helpers/ports.js";
import { checked, cpuMs, recordFigures } from "./figures.js";
import { seededRandom } from "./fleet-state.js";

/** The promise of issue 9: nothing left 1.5 s after the SIGKILL. */
const GRACE_MS = 1500;
const FLAKY = `${process.execPath} ${FIXTURES}flaky-app.mjs`;

const VARIANTS = {
  "built-in": () => [],
  "--exec": () => ["--exec", FLAKY],
  "--haproxy": (base) => ["--haproxy", "--frontend-host", "127.0.0.1", "--frontend-port", String(base + 2)],
};

/** One primary, SIGKILLed `delayMs` into `phase` (start-up: after exec; rolling restart: after the SIGHUP). */
async function killOnce(t, variant, phase, delayMs) {
  const base = await freePortRange(3);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "wsfleet-chaos-kill-"));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const args = ["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1", "--start-secs", "0.2"];
  const primary = startPrimary(t, [...args, ...VARIANTS[variant](base)], { env: { TMPDIR: tmp } });
  if (phase === "rolling restart") {
    await primary.waitForEvent((event) => event.event === "started", 20_000);
    if (variant === "--haproxy") await primary.waitForEvent((event) => event.event === "haproxy-started", 20_000);
    primary.child.kill("SIGHUP");
  }
  await sleep(delayMs);
  primary.kill();
  await primary.exited;
  await sleep(GRACE_MS * TIMEOUT_FACTOR);
  const listening = [];
  for (const port of [base, base + 1, base + 2]) if (await accepts(port)) listening.push(port);
  return {
    variant,
    phase,
    "killed after, ms": delayMs,
    "processes left": marked(primary.child.pid).length,
    "ports still listening": listening.length,
    "runtime dir entries left": readdirSync(tmp).length,
  };
}

/** SIGKILL of the primary at `rounds` random moments of start-up and of a rolling restart, for each kind of fleet. */
export async function primarySigkill(t, key, { rounds = 3, seed = 13 }) {
  const random = seededRandom(seed);
  const rows = [];
  for (const variant of Object.keys(VARIANTS)) {
    for (let round = 0; round < rounds; round += 1) {
      rows.push(await killOnce(t, variant, "start-up", Math.round(random() * 600)));
      rows.push(await killOnce(t, variant, "rolling restart", Math.round(random() * 2500)));
    }
  }
  const dirty = rows.filter(
    (row) => row["processes left"] + row["ports still listening"] + row["runtime dir entries left"] > 0,
  );
  recordFigures(key, {
    title: "SIGKILL of the primary at random moments",
    what: `2 workers (built-in, \`--exec\` node program, built-in behind \`--haproxy\`); kill -9 of the primary at a random moment 0-600 ms after exec, and 0-2.5 s after a SIGHUP (rolling restart under way), ${rounds} of each per kind (seed ${seed}); then 1.5 s later: processes carrying the primary's marker, the fleet's ports, the runtime directory.`,
    figures: { kills: rows.length, "kills that left something": dirty.length },
    rows,
  });
  await checked(key, () => assert.deepEqual(dirty, [], "nothing left 1.5 s after any SIGKILL"));
}

function httpGet(port) {
  return new Promise((resolve) => {
    http
      .get({ host: "127.0.0.1", port, path: "/" }, (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode, body }));
      })
      .on("error", (error) => resolve({ status: undefined, body: error.message }));
  });
}

/** One --exec slot that can never start: FATAL after the retries, the others serve, the primary's CPU stays low. */
export async function crashLoop(t, key, { workers = 3, startRetries = 3 }) {
  const base = await freePortRange(workers);
  const args = ["--workers", String(workers), "--base-port", String(base), "--host", "127.0.0.1"];
  const retryArgs = ["--start-secs", "0.2", "--start-retries", String(startRetries), "--exec", FLAKY];
  const primary = startPrimary(t, [...args, ...retryArgs], { env: { FAIL_SLOT: "websockets-test_01" } });
  // From the first failed start on: the primary's own start-up is not the crash loop's cost.
  await primary.waitForEvent((event) => event.event === "exited" && event.worker === "websockets-test_01", 20_000);
  const startedAt = Date.now();
  const cpuBefore = cpuMs(primary.child.pid);
  const fatal = await primary.waitForEvent(
    (event) => event.event === "fatal" && event.worker === "websockets-test_01",
    60_000,
  );
  const wallMs = Date.now() - startedAt;
  const cpuPercent = (100 * (cpuMs(primary.child.pid) - cpuBefore)) / wallMs;
  const spawns = primary.events.filter(
    (event) => event.event === "spawned" && event.worker === "websockets-test_01",
  ).length;
  const served = [];
  for (let index = 0; index < workers; index += 1) if (index !== 1) served.push(await httpGet(base + index));
  recordFigures(key, {
    title: "Crash loop",
    what: `${workers} \`--exec\` workers, slot 01 exits at once every time (test/fixtures/flaky-app.mjs), --start-retries ${startRetries}, --start-secs 0.2.`,
    figures: {
      "starts of the broken slot": spawns,
      "first failed start → FATAL, s": wallMs / 1000,
      "primary CPU meanwhile, % of one core": Number(cpuPercent.toFixed(1)),
      "other slots answering": served.filter((each) => each.status === 200).length,
    },
    notes: [`FATAL message: ${fatal.message}`],
  });
  await checked(key, () => {
    assert.equal(spawns, startRetries + 1, "the first start and every retry, then no more");
    assert.match(fatal.message, /missing configuration/);
    for (const each of served) assert.equal(each.status, 200, each.body);
    assert.ok(cpuPercent < 10, `the primary used ${cpuPercent.toFixed(1)} % of a core while the slot crash-looped`);
  });
}

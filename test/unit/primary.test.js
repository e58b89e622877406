import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { EXIT_INTERRUPTED, Primary, SIGNAL_TABLE } from "../../dist/primary/lifecycle.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A Primary over recording parts; `release()` lets the fleet's stop finish. */
function setup({ balancer = true } = {}) {
  const calls = [];
  let release;
  const fleetStopped = new Promise((resolve) => {
    release = resolve;
  });
  const exits = [];
  const primary = new Primary({
    fleet: {
      size: 3,
      stop: async () => {
        calls.push("fleet.stop");
        await fleetStopped;
      },
      kill: () => calls.push("fleet.kill"),
      rollingRestart: async () => calls.push("rollingRestart"),
      addWorker: async () => calls.push("addWorker"),
      removeWorker: async () => calls.push("removeWorker"),
      scaleTo: async (count) => calls.push(`scaleTo ${count}`),
      restartWorker: async (name) => calls.push(`restartWorker ${name}`) && name === "w_00",
    },
    balancer: balancer
      ? { stop: async () => calls.push("balancer.stop"), kill: () => calls.push("balancer.kill") }
      : undefined,
    guard: { close: () => calls.push("guard.close") },
    logger: { event: (level, _event, message) => calls.push(`log ${level} ${message}`), workerLine: () => {} },
    exit: (code) => exits.push(code),
  });
  const signals = new EventEmitter();
  primary.listen(signals);
  return { primary, signals, calls, exits, release: () => release() };
}

test("every signal of the table reaches its handler through the injected emitter", async () => {
  assert.deepEqual(Object.keys(SIGNAL_TABLE).sort(), ["SIGHUP", "SIGINT", "SIGTERM", "SIGTTIN", "SIGTTOU", "SIGUSR2"]);
  const { signals, calls } = setup();
  signals.emit("SIGHUP");
  signals.emit("SIGTTIN");
  signals.emit("SIGTTOU");
  assert.deepEqual(calls, ["rollingRestart", "addWorker", "removeWorker"]);
});

test("SIGHUP with --tls-cert re-reads the certificate first; a refused one is logged and the restart still runs", async () => {
  for (const outcome of ["ok", "refused"]) {
    const calls = [];
    const primary = new Primary({
      fleet: { size: 1, rollingRestart: async () => calls.push("rollingRestart") },
      guard: { close: () => {} },
      logger: { event: (level, event) => calls.push(`${level} ${event}`), workerLine: () => {} },
      exit: () => {},
      certificates: {
        reload: async () => {
          calls.push("certificates.reload");
          if (outcome === "refused") throw new Error('--tls-cert "x.pem": no such file');
        },
      },
    });
    primary.handleHup();
    await flush();
    assert.deepEqual(
      calls,
      outcome === "ok"
        ? ["certificates.reload", "rollingRestart"]
        : ["certificates.reload", "error tls-refused", "rollingRestart"],
    );
  }
});

test("SIGTERM stops workers, then HAProxy, then the guard, then exits 0; a second SIGTERM changes nothing", async () => {
  const { signals, calls, exits, release } = setup();
  signals.emit("SIGTERM");
  signals.emit("SIGTERM");
  signals.emit("SIGHUP");
  await flush();
  assert.deepEqual(calls, [
    "log info received SIGTERM: stopping 3 workers (connections closed with 1001)",
    "fleet.stop",
  ]);
  release();
  await flush();
  assert.deepEqual(calls.slice(2), [
    "balancer.stop",
    "guard.close",
    "log info all workers and haproxy stopped; exiting",
  ]);
  assert.deepEqual(exits, [0]);
});

test("a second SIGINT during a stop kills everything at once and exits 130", async () => {
  const { signals, calls, exits } = setup();
  signals.emit("SIGINT");
  await flush();
  signals.emit("SIGINT");
  assert.deepEqual(calls.slice(-3), [
    "log warn second SIGINT: killing every worker now",
    "fleet.kill",
    "balancer.kill",
  ]);
  assert.deepEqual(exits, [EXIT_INTERRUPTED]);
});

test("a failure (all FATAL) takes the same shutdown path and exits 1; a later SIGTERM does not start another", async () => {
  const { primary, signals, calls, exits, release } = setup({ balancer: false });
  const failed = primary.fail("every worker is FATAL: nothing left to serve; exiting with status 1");
  signals.emit("SIGTERM");
  release();
  await failed;
  assert.deepEqual(calls, [
    "log error every worker is FATAL: nothing left to serve; exiting with status 1",
    "fleet.stop",
    "guard.close",
  ]);
  assert.deepEqual(exits, [1]);
});

test("the commands take the signals' paths: scale, restart one or all, stop with a hook before the exit", async () => {
  const { primary, calls, exits, release } = setup();
  await primary.scale(5);
  assert.equal(await primary.restart("w_00"), true);
  assert.equal(await primary.restart("w_09"), false);
  await primary.restart("all");
  assert.deepEqual(calls.slice(-4), ["scaleTo 5", "restartWorker w_00", "restartWorker w_09", "rollingRestart"]);
  primary.beforeExit(async (code) => {
    calls.push(`beforeExit ${code}`);
  });
  const stopped = primary.stop();
  await flush();
  assert.ok(calls.includes("log info wsfleet stop: stopping 3 workers (connections closed with 1001)"));
  assert.deepEqual(exits, [], "not before the fleet has stopped");
  release();
  await stopped;
  assert.deepEqual(calls.slice(-3), [
    "guard.close",
    "log info all workers and haproxy stopped; exiting",
    "beforeExit 0",
  ]);
  assert.deepEqual(exits, [0]);
  await primary.scale(2);
  assert.ok(!calls.includes("scaleTo 2"), "no scaling while stopping");
});

test("a failed start step stops what has started in the same order, does not exit, and hands the error on", async () => {
  const { primary, calls, exits, release } = setup();
  const failing = primary.failStart(new Error("port 9100 taken"));
  await flush();
  assert.equal(primary.isStopping, true, "signals from now on change nothing");
  release();
  await assert.rejects(failing, /port 9100 taken/);
  assert.deepEqual(calls, ["fleet.stop", "balancer.stop", "guard.close"]);
  assert.deepEqual(exits, [], "the entry point prints the error and exits with its code");
});

/** A fleet whose workers' states the test sets; `change()` wakes whoever waits for the next state change. */
function readinessSetup({ balancerUp }) {
  const calls = [];
  let states = ["STARTING", "STARTING"];
  let wake = () => {};
  const fleet = {
    size: 2,
    settled: async () => {},
    allRunning: () => states.every((state) => state === "RUNNING"),
    status: () => states.map((state, index) => ({ name: `w_0${index}`, state })),
    nextStateChange: () =>
      new Promise((resolve) => {
        wake = resolve;
      }),
    summary: () => `${states.filter((state) => state === "RUNNING").length} of 2 workers RUNNING`,
  };
  const balancer = {
    stop: async () => {},
    kill: () => {},
    waitUntilUp: async (names) => calls.push(`waitUntilUp ${names.join(",")}`) && balancerUp.shift(),
  };
  const primary = new Primary({
    fleet,
    balancer,
    guard: { close: async () => {} },
    logger: { event: (level, event, message) => calls.push(`${level} ${event}: ${message}`), workerLine: () => {} },
    service: { notify: async (...assignments) => calls.push(`notify ${assignments.join(" ")}`) },
    exit: () => {},
  });
  const change = (next) => {
    states = next;
    wake();
  };
  return { primary, calls, change };
}

test("ready: READY=1 only once every worker is RUNNING and HAProxy sees them UP; a FATAL worker holds it back, said once", async () => {
  const { primary, calls, change } = readinessSetup({ balancerUp: [false, true] });
  const ready = primary.becomeReady();
  await flush();
  change(["RUNNING", "FATAL"]);
  await flush();
  change(["RUNNING", "FATAL"]);
  await flush();
  assert.deepEqual(calls, [
    "warn not-ready: not ready: 1 of 2 workers RUNNING; READY=1 waits for every worker RUNNING (wsfleet restart <name> gives a FATAL worker a fresh start)",
    "notify STATUS=not ready: 1 of 2 workers RUNNING, haproxy in front",
  ]);
  change(["RUNNING", "RUNNING"]);
  await ready;
  assert.deepEqual(calls.slice(2), [
    "waitUntilUp w_00,w_01",
    "waitUntilUp w_00,w_01",
    "info ready: ready: 2 of 2 workers RUNNING, haproxy sees them UP",
    "notify READY=1 STATUS=2 of 2 workers RUNNING, haproxy in front",
  ]);
});

test("reload-cert: without --tls-cert it is refused by its code; with HAProxy the new one serves at once, else workers roll", async () => {
  const without = new Primary({ fleet: { size: 1 }, guard: { close: async () => {} }, logger: {}, exit: () => {} });
  await assert.rejects(without.reloadCertificate(), (error) => {
    assert.equal(error.code, "WSFLEET_TLS_INVALID");
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /started without --tls-cert: there is no certificate to reload/);
    return true;
  });
  for (const haproxy of [true, false]) {
    const calls = [];
    const primary = new Primary({
      fleet: { size: 1, rollingRestart: async () => calls.push("rollingRestart") },
      balancer: haproxy ? { stop: async () => {}, kill: () => {} } : undefined,
      certificates: { reload: async () => calls.push("certificates.reload") && { serial: "1002" } },
      guard: { close: async () => {} },
      logger: {},
      exit: () => {},
    });
    const answer = await primary.reloadCertificate();
    assert.equal(answer.serial, "1002");
    assert.match(answer.message, haproxy ? /^haproxy now serves certificate serial 1002/ : /rolling restart under way/);
    assert.deepEqual(calls, haproxy ? ["certificates.reload"] : ["certificates.reload", "rollingRestart"]);
  }
});

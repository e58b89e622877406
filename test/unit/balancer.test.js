import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { validateOptions } from "../../dist/config/validate.js";
import { HaproxyBalancer } from "../../dist/haproxy/balancer.js";
import { fakeClock } from "../helpers/fakes.js";
import { freePortRange } from "../helpers/ports.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A balancer prepared for real (its config passes the real `haproxy -c`), over a fake clock and a fake runtime API whose
 * server states the test scripts: `states(server)` answers what HAProxy's checks would say at that poll.
 */
async function setup(t, states) {
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-balancer-test-"));
  t.after(() => rmSync(runtimeDir, { recursive: true, force: true }));
  const frontendPort = await freePortRange(1);
  const options = validateOptions(
    { workers: "2", basePort: "9000", haproxy: true, frontendHost: "127.0.0.1", frontendPort: String(frontendPort) },
    { cpuCount: 1 },
  );
  const clock = fakeClock();
  const sent = [];
  const events = [];
  let polls = 0;
  const runtime = {
    socketPath: path.join(runtimeDir, "haproxy.sock"),
    send: async (command) => sent.push(command) && "",
    isAnswering: async () => true,
    setServerState: async (backend, server, state) => {
      sent.push(`set server ${backend}/${server} state ${state}`);
    },
    serverStates: async () => {
      polls += 1;
      return ["websockets-test_00", "websockets-test_01"].map((server) => ({
        backend: "websocket",
        server,
        operational: states(server, polls),
        admin: "ready",
      }));
    },
    serverState: async (_backend, server) => (await runtime.serverStates()).find((each) => each.server === server),
    replaceCertificate: async () => {},
  };
  const balancer = await HaproxyBalancer.prepare(
    {
      haproxy: options.haproxy,
      servers: { programName: "websockets-test", host: "localhost", basePort: 9000, count: 2, httpHealthCheck: true },
      supervision: options.supervision,
      env: {},
    },
    {
      logger: { event: (level, event, message) => events.push(`${level} ${event} ${message}`), workerLine: () => {} },
      clock,
      signalGroup: () => {},
      connectRuntime: () => runtime,
    },
    runtimeDir,
  );
  /** Lets `promise` run, moving the fake clock on 100 ms at a time until it settles (at most `limitMs`). */
  const settle = async (promise, limitMs = 60_000) => {
    let done = false;
    const outcome = promise.then(
      (value) => ({ value }),
      (error) => ({ error }),
    );
    void outcome.then(() => {
      done = true;
    });
    for (let elapsed = 0; !done && elapsed <= limitMs; elapsed += 100) {
      await flush();
      if (!done) clock.advance(100);
    }
    await flush();
    assert.ok(done, `still pending after ${limitMs} ms of fake time`);
    return outcome;
  };
  return { balancer, clock, sent, events, settle, polls: () => polls };
}

test("admit: polls until HAProxy's checks see the replacement UP, then sets it ready", async (t) => {
  const { balancer, clock, sent, events, settle, polls } = await setup(t, (_server, poll) =>
    poll < 4 ? "DOWN" : "UP",
  );
  const { error } = await settle(balancer.admit("websockets-test_01"));
  assert.equal(error, undefined);
  assert.equal(polls(), 4, "three polls saw DOWN, the fourth UP");
  assert.equal(clock.now(), 300, "100 ms between polls, on the injected clock");
  assert.deepEqual(sent, ["set server websocket/websockets-test_01 state ready"]);
  assert.deepEqual(events, ["info haproxy-ready haproxy: websockets-test_01 is UP and set to ready"]);
});

test("admit: a server never seen UP is still set ready (never left in drain), and the timeout is reported", async (t) => {
  const { balancer, clock, sent, settle } = await setup(t, () => "DOWN");
  const { error } = await settle(balancer.admit("websockets-test_00"));
  assert.match(error?.message ?? "", /haproxy did not see websockets-test_00 UP within 15000 ms \(last: DOWN\)/);
  assert.ok(clock.now() >= 15_000 && clock.now() < 15_200, `gave up at ${clock.now()} ms`);
  assert.deepEqual(sent, ["set server websocket/websockets-test_00 state ready"]);
});

test("waitUntilUp: true once every named server is UP, false when the time runs out first", async (t) => {
  const slow = await setup(t, (server, poll) => (server === "websockets-test_01" && poll < 6 ? "DOWN" : "UP"));
  assert.deepEqual(await slow.settle(slow.balancer.waitUntilUp(["websockets-test_00", "websockets-test_01"])), {
    value: true,
  });
  assert.equal(slow.clock.now(), 500);
  const never = await setup(t, (server) => (server === "websockets-test_01" ? "DOWN" : "UP"));
  assert.deepEqual(await never.settle(never.balancer.waitUntilUp(["websockets-test_00"], 1000)), { value: true });
  assert.deepEqual(await never.settle(never.balancer.waitUntilUp(["websockets-test_01"], 1000)), { value: false });
  assert.ok(never.clock.now() >= 1000, "waited out its time on the injected clock");
});

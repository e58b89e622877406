import assert from "node:assert/strict";
import { test } from "node:test";
import { slotFor } from "../../dist/fleet/slot.js";
import { FleetWorker } from "../../dist/fleet/worker.js";
import { DEFAULT_RESTART_POLICY } from "../../dist/supervise/restart-policy.js";
import { fakeChild, fakeClock } from "../helpers/fakes.js";

function setup({ startRetries = 2, startSecs = 1 } = {}) {
  const clock = fakeClock();
  const children = [];
  const signals = [];
  const events = [];
  const worker = new FleetWorker(slotFor("app", { kind: "consecutive", basePort: 9000 }, 0), {
    spawn: () => {
      const child = fakeChild();
      children.push(child);
      return child;
    },
    readiness: "ipc",
    probeReady: async () => false,
    logger: { event: (_level, event, message) => events.push({ event, message }), workerLine: () => {} },
    policy: { ...DEFAULT_RESTART_POLICY, startRetries },
    startSecs,
    stopTimeoutMs: 5000,
    clock,
    signalGroup: (pgid, signal) => signals.push([pgid, signal]),
    onGroupStart: () => {},
    onGroupEnd: () => {},
  });
  const states = [];
  const handle = worker.process;
  handle.on("state", (state) => states.push(state));
  return { clock, children, signals, events, handle, worker, states };
}

test("RUNNING needs both the listening report and start-secs of uptime", () => {
  const { clock, children, handle } = setup({ startSecs: 1 });
  handle.start();
  assert.equal(handle.state, "STARTING");
  clock.advance(2000);
  assert.equal(handle.state, "STARTING", "up 2 s but not listening yet");
  children[0].emit("message", { type: "listening", port: 9000, addresses: ["127.0.0.1"] });
  clock.advance(0);
  assert.equal(handle.state, "RUNNING");
});

test("exits before RUNNING go BACKOFF with growing delays, then FATAL with the last output", () => {
  const { clock, children, handle, states, events } = setup({ startRetries: 2 });
  handle.start();
  children[0].stderr.write("boom: cannot bind\n");
  return new Promise((resolve) => setImmediate(resolve)).then(() => {
    children[0].exit(3);
    assert.equal(handle.state, "BACKOFF");
    clock.advance(999);
    assert.equal(children.length, 1, "not before the 1 s back-off");
    clock.advance(1);
    assert.equal(children.length, 2);
    children[1].exit(3);
    clock.advance(2000);
    assert.equal(children.length, 3);
    children[2].exit(3);
    assert.equal(handle.state, "FATAL");
    assert.deepEqual(states, ["STARTING", "BACKOFF", "STARTING", "BACKOFF", "STARTING", "FATAL"]);
    const fatal = events.find((event) => event.event === "fatal");
    assert.match(fatal.message, /app_00 entered FATAL state, exited before it was running 3 times in a row/);
    assert.match(fatal.message, /exit status 3/);
  });
});

test("a crash after RUNNING restarts at once on the same slot", () => {
  const { clock, children, handle } = setup();
  handle.start();
  children[0].emit("message", { type: "listening" });
  clock.advance(1000);
  assert.equal(handle.state, "RUNNING");
  children[0].exit(null, "SIGKILL");
  clock.advance(0);
  assert.equal(children.length, 2);
  assert.equal(handle.state, "STARTING");
  assert.equal(handle.status().restarts, 1);
});

test("stop sends SIGTERM to the group, then SIGKILL after the stop timeout, and never restarts", async () => {
  const { clock, children, handle, signals } = setup();
  handle.start();
  const pid = children[0].pid;
  const stopped = handle.stop();
  assert.equal(handle.state, "STOPPING");
  assert.deepEqual(signals, [[pid, "SIGTERM"]]);
  clock.advance(5000);
  assert.deepEqual(signals.at(-1), [pid, "SIGKILL"]);
  children[0].exit(null, "SIGKILL");
  await stopped;
  assert.equal(handle.state, "STOPPED");
  clock.advance(60_000);
  assert.equal(children.length, 1);
});

test("replace drains over IPC with the given close code and waits for the new worker to run", async () => {
  const { clock, children, handle, worker } = setup();
  handle.start();
  children[0].emit("message", { type: "listening" });
  clock.advance(1000);
  const replaced = worker.replace(1012);
  assert.deepEqual(children[0].sent, [{ type: "drain", closeCode: 1012 }]);
  children[0].exit(0);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(children.length, 2);
  children[1].emit("message", { type: "listening" });
  clock.advance(1000);
  await replaced;
  assert.equal(handle.state, "RUNNING");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { validateOptions } from "../../dist/config/validate.js";
import { Fleet } from "../../dist/fleet/fleet.js";
import { fakeChild, fakeClock } from "../helpers/fakes.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A fleet on fake processes and a fake clock; `log` records, in order, what reached the balancer and the children. */
function setup(workers = 2) {
  const options = validateOptions({ workers: String(workers), basePort: "9000", startRetries: "1" }, { cpuCount: 1 });
  const clock = fakeClock();
  const children = [];
  const log = [];
  const balancer = {
    drain: async (name) => log.push(`drain ${name}`),
    admit: async (name) => log.push(`admit ${name}`),
    add: async (server, count) => log.push(`add ${server.name}:${server.port} (${count})`),
    remove: async (name, count) => log.push(`remove ${name} (${count})`),
  };
  const fleet = new Fleet(options.fleet, options.supervision, {
    logger: { event: () => {}, workerLine: () => {} },
    spawn: (slot) => {
      const child = fakeChild();
      child.slot = slot;
      child.send = (message) => log.push(`${message.type} ${message.closeCode} to ${slot.name}`);
      children.push(child);
      log.push(`spawn ${slot.name}`);
      return child;
    },
    readiness: "ipc",
    probeReady: async () => false,
    clock,
    groups: { watch: () => {}, unwatch: () => {} },
    signalGroup: (pgid, signal) => log.push(`${signal} ${children.find((child) => child.pid === pgid)?.slot.name}`),
    assertPortFree: async (_host, port) => log.push(`check ${port}`),
  });
  /** The newest child of each slot says it listens, and start-secs pass. */
  const listen = async (child) => {
    child.emit("message", { type: "listening" });
    clock.advance(1000);
    await flush();
  };
  return { fleet, clock, children, log, balancer, listen };
}

/** A fleet whose workers are all RUNNING, behind the recording balancer, with an empty log. */
async function running(workers) {
  const parts = setup(workers);
  await parts.fleet.start();
  parts.fleet.attach(parts.balancer);
  for (const child of [...parts.children]) await parts.listen(child);
  parts.log.length = 0;
  return parts;
}

test("start checks every port before it spawns anything", async () => {
  const { fleet, log } = setup(3);
  await fleet.start();
  assert.deepEqual(log, [
    "check 9000",
    "check 9001",
    "check 9002",
    "spawn websockets-test_00",
    "spawn websockets-test_01",
    "spawn websockets-test_02",
  ]);
});

test("a rolling restart drains, replaces, waits for RUNNING and admits each worker before the next", async () => {
  const { fleet, children, log, balancer, listen } = setup(2);
  await fleet.start();
  fleet.attach(balancer);
  for (const child of [...children]) await listen(child);
  log.length = 0;
  const done = fleet.rollingRestart();
  await flush();
  assert.deepEqual(log, ["drain websockets-test_00", "drain 1012 to websockets-test_00"]);
  children[0].exit(0);
  await flush();
  assert.equal(log.at(-1), "spawn websockets-test_00");
  assert.ok(!log.includes("admit websockets-test_00"), "admitted before it was RUNNING");
  await listen(children[2]);
  assert.deepEqual(log.slice(-3), [
    "admit websockets-test_00",
    "drain websockets-test_01",
    "drain 1012 to websockets-test_01",
  ]);
  children[1].exit(0);
  await flush();
  await listen(children[3]);
  await done;
  assert.equal(log.at(-1), "admit websockets-test_01");
  assert.deepEqual(
    fleet.status().map((worker) => [worker.name, worker.state, worker.restarts]),
    [
      ["websockets-test_00", "RUNNING", 1],
      ["websockets-test_01", "RUNNING", 1],
    ],
  );
});

test("scaling up adds the next port and joins the balancer once RUNNING; scaling down drains, stops, removes", async () => {
  const { fleet, children, log, balancer, listen } = setup(1);
  await fleet.start();
  fleet.attach(balancer);
  await listen(children[0]);
  log.length = 0;
  const added = fleet.addWorker();
  await flush();
  assert.deepEqual(log, ["check 9001", "spawn websockets-test_01"]);
  await listen(children[1]);
  await added;
  assert.equal(log.at(-1), "add websockets-test_01:9001 (2)");
  log.length = 0;
  const removed = fleet.removeWorker();
  await flush();
  assert.deepEqual(log, ["drain websockets-test_01", "SIGTERM websockets-test_01"]);
  children[1].exit(0);
  await removed;
  assert.equal(log.at(-1), "remove websockets-test_01 (1)");
  assert.equal(fleet.size, 1);
  await fleet.removeWorker();
  assert.equal(fleet.size, 1, "the last worker is never removed");
});

test("all-fatal is emitted once every slot has given up, not before", async () => {
  const { fleet, children, clock } = setup(2);
  let fatal = 0;
  fleet.on("all-fatal", () => {
    fatal += 1;
  });
  await fleet.start();
  // start-retries 1: a failed start, a retry after 1 s, a second failure → FATAL.
  children[0].exit(1);
  clock.advance(1000);
  children[2].exit(1);
  assert.equal(fleet.status()[0].state, "FATAL");
  assert.equal(fatal, 0, "one slot is still starting");
  children[1].exit(1);
  clock.advance(1000);
  children[3].exit(1);
  assert.deepEqual(
    fleet.status().map((worker) => worker.state),
    ["FATAL", "FATAL"],
  );
  assert.equal(fatal, 1);
});

test("scaleTo grows one worker at a time, each in the balancer before the next, and shrinks from the end", async () => {
  const { fleet, children, log, listen } = await running(1);
  const grown = fleet.scaleTo(3);
  await flush();
  assert.deepEqual(log, ["check 9001", "spawn websockets-test_01"], "the second waits for the first to settle");
  await listen(children[1]);
  await flush();
  assert.deepEqual(log.slice(2), ["add websockets-test_01:9001 (2)", "check 9002", "spawn websockets-test_02"]);
  await listen(children[2]);
  await grown;
  assert.equal(log.at(-1), "add websockets-test_02:9002 (3)");
  assert.equal(fleet.size, 3);
  log.length = 0;
  const shrunk = fleet.scaleTo(1);
  await flush();
  assert.deepEqual(log, ["drain websockets-test_02", "SIGTERM websockets-test_02"]);
  children[2].exit(0);
  await flush();
  await flush();
  assert.deepEqual(log.slice(2), [
    "SIGKILL websockets-test_02",
    "remove websockets-test_02 (2)",
    "drain websockets-test_01",
    "SIGTERM websockets-test_01",
  ]);
  children[1].exit(0);
  await shrunk;
  assert.equal(log.at(-1), "remove websockets-test_01 (1)");
  assert.deepEqual(
    fleet.status().map((worker) => worker.name),
    ["websockets-test_00"],
  );
  await fleet.scaleTo(0);
  assert.equal(fleet.size, 1, "scaling to 0 keeps the last worker, as SIGTTOU does");
});

test("restartWorker replaces only the named worker, drained and admitted like one step of a rolling restart", async () => {
  const { fleet, children, log, listen } = await running(2);
  assert.equal(await fleet.restartWorker("websockets-test_07"), false, "no such worker");
  assert.deepEqual(log, []);
  const done = fleet.restartWorker("websockets-test_01");
  await flush();
  assert.deepEqual(log, ["drain websockets-test_01", "drain 1012 to websockets-test_01"]);
  children[1].exit(0);
  await flush();
  await listen(children[2]);
  assert.equal(await done, true);
  // SIGKILL: the old worker's process group is swept once its leader exits.
  assert.deepEqual(log.slice(2), [
    "SIGKILL websockets-test_01",
    "spawn websockets-test_01",
    "admit websockets-test_01",
  ]);
  assert.deepEqual(
    fleet.status().map((worker) => [worker.name, worker.restarts, worker.pid]),
    [
      ["websockets-test_00", 0, children[0].pid],
      ["websockets-test_01", 1, children[2].pid],
    ],
  );
});

test("changes run one at a time: a restart asked during a scale waits until the new worker is in the balancer", async () => {
  const { fleet, children, log, listen } = await running(1);
  const scaled = fleet.scaleTo(2);
  const restarted = fleet.restartWorker("websockets-test_00");
  await flush();
  assert.deepEqual(log, ["check 9001", "spawn websockets-test_01"], "the restart waits its turn");
  await listen(children[1]);
  await scaled;
  await flush();
  assert.deepEqual(log.slice(2), [
    "add websockets-test_01:9001 (2)",
    "drain websockets-test_00",
    "drain 1012 to websockets-test_00",
  ]);
  children[0].exit(0);
  await flush();
  await listen(children[2]);
  assert.equal(await restarted, true);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { workerIdentity } from "../../dist/broker/redis-broker.js";
import { workersOnBroker } from "../../dist/primary/workers-on-broker.js";
import { FLEET_BYTES, ORIGIN_BYTES } from "../../dist/protocol/broker-origin.js";
import { createCounters, sumBrokerCounts } from "../../dist/protocol/counters.js";
import { CONNECTION_DEFAULTS, decodeWorkerEnv, encodeWorkerEnv } from "../../dist/protocol/worker-env.js";

const slot = {
  programName: "chat",
  index: 0,
  port: 8000,
  host: "127.0.0.1",
  sharedPort: false,
  appPath: undefined,
  busPath: "/tmp/bus.sock",
  connections: CONNECTION_DEFAULTS,
};

test("workers on Redis: only for --broker without --history, each fleet with its own origin", () => {
  assert.equal(workersOnBroker(undefined, undefined), undefined);
  assert.equal(workersOnBroker("redis://127.0.0.1:6379", { size: 100 }), undefined, "--history: the hub sequences");
  const a = workersOnBroker("redis://127.0.0.1:6379", undefined);
  const b = workersOnBroker("redis://127.0.0.1:6379", undefined);
  assert.equal(a.url, "redis://127.0.0.1:6379");
  assert.match(a.fleetOrigin, new RegExp(`^[0-9a-f]{${FLEET_BYTES * 2}}$`));
  assert.notEqual(a.fleetOrigin, b.fleetOrigin);
});

test("worker env: the broker's URL, the fleet's name and origin reach the worker; a bad origin is named", () => {
  const onBroker = { url: "redis://:secret@127.0.0.1:6379/2", fleetOrigin: "0a1b2c3d4e5f" };
  const settings = decodeWorkerEnv(encodeWorkerEnv({ ...slot, broker: onBroker }));
  assert.equal(settings.broker.url, onBroker.url);
  assert.equal(settings.broker.name, "chat");
  assert.equal(settings.broker.fleetOrigin.toString("hex"), onBroker.fleetOrigin);
  assert.equal(decodeWorkerEnv(encodeWorkerEnv(slot)).broker, undefined);
  const env = { ...encodeWorkerEnv({ ...slot, broker: onBroker }), WSFLEET_BROKER_FLEET: "xyz" };
  assert.throws(() => decodeWorkerEnv(env), /WSFLEET_BROKER_FLEET must be 12 hex digits .*"xyz"/);
});

test("a worker's origin: its fleet's bytes first (skipped by its fleet), its own after", () => {
  const fleet = Buffer.from("0a1b2c3d4e5f", "hex");
  const identity = workerIdentity(fleet);
  assert.equal(identity.origin.length, ORIGIN_BYTES);
  assert.equal(identity.ownBytes, FLEET_BYTES);
  assert.deepEqual(identity.origin.subarray(0, FLEET_BYTES), fleet);
  assert.throws(() => workerIdentity(Buffer.alloc(4)), /6 bytes, got 4/);
});

test("the fleet's broker counts are its workers' summed; none on Redis: undefined", () => {
  const on = (counts) => ({ ...createCounters(), broker: counts });
  const one = { subscriptions: 2, published: 10, received: 5, dropped: 1, lost: 0, errors: 1, reconnects: 0 };
  const two = { subscriptions: 1, published: 0, received: 7, dropped: 0, lost: 3, errors: 0, reconnects: 1 };
  assert.deepEqual(sumBrokerCounts([on(one), undefined, createCounters(), on(two)]), {
    subscriptions: 3,
    published: 10,
    received: 12,
    dropped: 1,
    lost: 3,
    errors: 1,
    reconnects: 1,
  });
  assert.equal(sumBrokerCounts([createCounters(), undefined]), undefined);
});

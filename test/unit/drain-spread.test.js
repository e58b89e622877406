import assert from "node:assert/strict";
import { test } from "node:test";
import { validateOptions } from "../../dist/config/validate.js";
import { haproxyConnectionsFor } from "../../dist/haproxy/model.js";
import { startWarnings } from "../../dist/primary/start-warnings.js";
import { closedBy } from "../../dist/worker/drain-spread.js";

const defaults = { webConcurrency: undefined, cpuCount: 2 };

test("a spread drain closes connection i at i × spread / total: the first at once, all by the end", () => {
  assert.equal(closedBy(4000, 2000, 0), 1);
  assert.equal(closedBy(4000, 2000, 10), 21);
  assert.equal(closedBy(4000, 2000, 1000), 2001);
  assert.equal(closedBy(4000, 2000, 1999), 3999);
  assert.equal(closedBy(4000, 2000, 2000), 4000);
  assert.equal(closedBy(3, 2000, 700), 2);
  assert.equal(closedBy(0, 2000, 0), 0);
  // 0 = all at once, as before the option existed.
  assert.equal(closedBy(4000, 0, 0), 4000);
});

test("--drain-spread is validated in seconds and reaches the connections slice in ms", () => {
  assert.equal(validateOptions({}, defaults).fleet.connections.drainSpreadMs, 2000);
  assert.equal(validateOptions({ drainSpread: "0" }, defaults).fleet.connections.drainSpreadMs, 0);
  assert.equal(validateOptions({ drainSpread: "3.5" }, defaults).fleet.connections.drainSpreadMs, 3500);
  assert.throws(() => validateOptions({ drainSpread: "-1" }, defaults), /--drain-spread: "-1"/);
  assert.throws(() => validateOptions({ drainSpread: "soon" }, defaults), /--drain-spread: "soon"/);
});

test("start warnings: drain longer than the stop timeout, wildcard binds, an open-files limit too low for maxconn", () => {
  const events = (raw, limit) => startWarnings(validateOptions(raw, defaults), limit).map((each) => each.event);
  assert.deepEqual(events({}, 65536), []);
  assert.deepEqual(events({ drainTimeout: "5", drainSpread: "6" }, 65536), ["drain-too-long"]);
  assert.deepEqual(events({ drainTimeout: "5", drainSpread: "6", stopTimeout: "12" }, 65536), []);
  // An --exec program drains its own way: the built-in drain settings do not apply.
  assert.deepEqual(events({ drainSpread: "60", exec: "python3 app.py" }, 65536), []);
  assert.deepEqual(events({ host: "0.0.0.0", metrics: "0.0.0.0:9100" }, 65536), ["wildcard-bind", "wildcard-bind"]);
  assert.deepEqual(events({ haproxy: true }, 1024), ["open-files-limit"]);
  assert.deepEqual(events({ haproxy: true }, 20_028), []);
  assert.deepEqual(events({ haproxy: true }, undefined), []);
  const [lowLimit] = startWarnings(validateOptions({ haproxy: true }, defaults), 1024);
  assert.match(lowLimit.message, /ulimit -n\) is 1024: HAProxy can hold only about 498 connections.*maxconn 10000/);
  // HAProxy's own figures from `show info`: Ulimit-n 1024 gives Maxconn 498, 20000 gives 9986.
  assert.equal(haproxyConnectionsFor(1024), 498);
  assert.equal(haproxyConnectionsFor(20_000), 9986);
});

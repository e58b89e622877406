import assert from "node:assert/strict";
import { test } from "node:test";
import { systemdNotifier } from "../../dist/primary/sd-notify.js";

test("without NOTIFY_SOCKET nothing is sent and nothing is started", async () => {
  const runs = [];
  const notifier = systemdNotifier(
    undefined,
    () => assert.fail("no error expected"),
    async (args) => runs.push(args),
  );
  await notifier.notify("READY=1", "STATUS=x");
  assert.deepEqual(runs, []);
});

test("messages go out one at a time, in order; a failing systemd-notify is reported once, not thrown", async () => {
  const runs = [];
  const errors = [];
  let release;
  const first = new Promise((resolve) => {
    release = resolve;
  });
  const notifier = systemdNotifier(
    "/run/notify",
    (message) => errors.push(message),
    async (args, socket) => {
      runs.push([...args, socket]);
      if (runs.length === 1) await first;
      if (args[0] === "STOPPING=1") throw new Error("spawn systemd-notify ENOENT");
    },
  );
  void notifier.notify("READY=1");
  const stopping = notifier.notify("STOPPING=1");
  const again = notifier.notify("STOPPING=1");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(runs, [["READY=1", "/run/notify"]], "the second waits for the first");
  release();
  await stopping;
  await again;
  assert.deepEqual(
    runs.map((run) => run[0]),
    ["READY=1", "STOPPING=1", "STOPPING=1"],
  );
  assert.equal(errors.length, 1);
  assert.match(errors[0], /could not notify systemd \(STOPPING=1\) with systemd-notify: spawn systemd-notify ENOENT/);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { validateOptions } from "../../dist/config/validate.js";
import { renderConfig } from "../../dist/haproxy/config.js";
import { websocketModel } from "../../dist/haproxy/model.js";
import { Primary } from "../../dist/primary/lifecycle.js";
import { withMainPid } from "../../dist/primary/sd-notify.js";
import { takeoverEnv, takeoverFromEnv, upgradeRefusal } from "../../dist/upgrade/handover.js";

const defaults = { webConcurrency: undefined, cpuCount: 2 };
const flush = () => new Promise((resolve) => setImmediate(resolve));

test("the new primary's environment says whom it takes over from and where the old HAProxy hands over", () => {
  const env = takeoverEnv(
    { PATH: "/bin", WSFLEET_UPGRADE_HAPROXY_SOCKET: "/old" },
    { fromPid: 42, haproxySocket: undefined },
    "/run/systemd/notify",
  );
  assert.deepEqual(env, { PATH: "/bin", WSFLEET_UPGRADE_FROM: "42", NOTIFY_SOCKET: "/run/systemd/notify" });
  assert.deepEqual(takeoverFromEnv(env), { fromPid: 42, haproxySocket: undefined });
  const haproxy = takeoverEnv({}, { fromPid: 7, haproxySocket: "/run/wsfleet/x/haproxy.sock" }, undefined);
  assert.deepEqual(takeoverFromEnv(haproxy), { fromPid: 7, haproxySocket: "/run/wsfleet/x/haproxy.sock" });
  assert.equal(takeoverFromEnv({}), undefined);
  assert.equal(takeoverFromEnv({ WSFLEET_UPGRADE_FROM: "x" }), undefined);
});

test("which fleets can hand their sockets over: HAProxy's frontend, a shared port; not the workers' own ports", () => {
  assert.equal(upgradeRefusal(validateOptions({ haproxy: true }, defaults)), undefined);
  assert.equal(upgradeRefusal(validateOptions({ sharedPort: "9000" }, defaults)), undefined);
  assert.equal(upgradeRefusal(validateOptions({ sharedPort: "9000", exec: "python3 app.py" }, defaults)), undefined);
  assert.match(upgradeRefusal(validateOptions({}, defaults)), /clients connect to the workers' own ports/);
  assert.match(upgradeRefusal(validateOptions({ haproxy: true, exec: "./app" }, defaults)), /--exec programs bind/);
});

test("HAProxy's runtime socket exposes its listeners, so the next HAProxy can take them with -x", () => {
  const model = websocketModel({
    servers: [],
    frontend: { host: "127.0.0.1", port: 8080 },
    runtimeSocket: "/run/x/haproxy.sock",
    exposeListeners: true,
  });
  assert.match(
    renderConfig(model),
    /^ {4}stats socket \/run\/x\/haproxy\.sock mode 600 level admin expose-fd listeners$/m,
  );
  const plain = websocketModel({ servers: [], frontend: { host: "127.0.0.1", port: 8080 }, runtimeSocket: "/s" });
  assert.doesNotMatch(renderConfig(plain), /expose-fd/);
});

test("systemd follows the new primary: its first READY=1 carries MAINPID=", async () => {
  const sent = [];
  const notifier = withMainPid({ notify: async (...assignments) => sent.push(assignments) }, 4242);
  await notifier.notify("STATUS=starting");
  await notifier.notify("READY=1", "STATUS=2 of 2 workers RUNNING");
  await notifier.notify("RELOADING=1");
  await notifier.notify("READY=1");
  assert.deepEqual(sent, [
    ["STATUS=starting"],
    ["MAINPID=4242", "READY=1", "STATUS=2 of 2 workers RUNNING"],
    ["RELOADING=1"],
    ["READY=1"],
  ]);
});

/** A ready Primary over recording parts; `newGeneration` is what starting the new primary does. */
async function upgradeSetup(newGeneration, { refusal } = {}) {
  const calls = [];
  const exits = [];
  const primary = new Primary({
    fleet: {
      size: 2,
      stop: async () => calls.push("fleet.stop"),
      retire: async () => calls.push("fleet.retire"),
      settled: async () => {},
      allRunning: () => true,
      status: () => [],
      summary: () => "2 of 2 workers RUNNING",
    },
    balancer: {
      waitUntilUp: async () => true,
      handOver: async (ms) => calls.push(`balancer.handOver ${ms}`),
      stop: async () => calls.push("balancer.stop"),
    },
    guard: { close: async () => calls.push("guard.close") },
    logger: { event: (level, event) => calls.push(`${level} ${event}`), workerLine: () => {} },
    service: { notify: async (...assignments) => calls.push(`notify ${assignments.join(" ")}`) },
    upgrade: {
      refusal,
      startNewGeneration: async () => {
        calls.push("startNewGeneration");
        return newGeneration();
      },
      release: async () => calls.push("release"),
      drainMs: 13_000,
    },
    exit: (code) => exits.push(code),
  });
  await primary.becomeReady();
  calls.length = 0;
  return { primary, calls, exits };
}

test("upgrade: once the new primary serves, HAProxy soft-stops, the workers retire, then the guard, then exit 0", async () => {
  const { primary, calls, exits } = await upgradeSetup(async () => ({ pid: 999 }));
  const answer = await primary.upgrade();
  assert.equal(answer.pid, 999);
  assert.match(answer.message, /^primary 999 serves now; this one \(pid \d+\) drains/);
  await flush();
  await flush();
  assert.deepEqual(calls, [
    "info upgrade",
    "startNewGeneration",
    "info upgrade",
    "release",
    "balancer.handOver 13000",
    "fleet.retire",
    "guard.close",
    "info upgrade",
  ]);
  assert.deepEqual(exits, [0]);
  assert.ok(!calls.some((call) => call.startsWith("notify")), "no STOPPING=1: systemd follows the new primary");
  assert.equal(primary.isStopping, true);
});

test("upgrade: a new primary that fails leaves this one serving, exit 1 with why; a fleet that cannot is refused, exit 2", async () => {
  const failing = await upgradeSetup(async () => {
    throw new Error("the new primary (pid 5) exited with status 1 before it was ready");
  });
  await assert.rejects(failing.primary.upgrade(), {
    code: "WSFLEET_UPGRADE_FAILED",
    exitCode: 1,
    message: /^upgrade failed, the running primary keeps serving: the new primary \(pid 5\) exited/,
  });
  assert.deepEqual(failing.calls, ["info upgrade", "startNewGeneration", "error upgrade-failed"]);
  assert.deepEqual(failing.exits, []);
  assert.equal(failing.primary.isStopping, false);
  const refused = await upgradeSetup(async () => ({ pid: 1 }), { refusal: "no sockets to hand over" });
  await assert.rejects(refused.primary.upgrade(), {
    code: "WSFLEET_UPGRADE_REFUSED",
    exitCode: 2,
    message: "upgrade refused, nothing changed: no sockets to hand over",
  });
  assert.deepEqual(refused.calls, ["error upgrade-refused"]);
});

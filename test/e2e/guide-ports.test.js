// The guide's fixed ports (8000-8003 behind HAProxy on 8080): every test that needs them lives in this one file,
// so they run one after another and never collide; all other tests use free ports.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertGuideTranscript, closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, FIXTURES, SYSTEM_PYTHON, startPrimary } from "../helpers/fleet.js";

const GUIDE_HAPROXY_CFG = fileURLToPath(new URL("../../examples/haproxy.cfg", import.meta.url));

/** The real haproxy with the guide's config, unchanged; killed when the test ends. */
async function startGuideHaproxy(t) {
  const haproxy = spawn("haproxy", ["-f", GUIDE_HAPROXY_CFG, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  haproxy.stdout.on("data", (chunk) => {
    output += chunk;
  });
  haproxy.stderr.on("data", (chunk) => {
    output += chunk;
  });
  t.after(async () => {
    if (haproxy.exitCode === null) {
      haproxy.kill("SIGKILL");
      await once(haproxy, "exit");
    }
  });
  const listening = await eventually(async () => {
    try {
      const res = await fetch("http://localhost:8080/healthz");
      return res.status === 200;
    } catch {
      return false;
    }
  }, 5000);
  assert.ok(listening, `haproxy did not serve on 8080: ${output}`);
  return haproxy;
}

test("the guide's check: --workers 4 on 8000-8003, the guide's haproxy.cfg verbatim, the guide's Python client", async (t) => {
  const primary = startPrimary(t, ["--workers", "4"]);
  const running = await primary.waitForRunning(4);
  assert.equal(running.size, 4);
  for (let port = 8000; port <= 8003; port += 1) {
    const ws = await connect(`ws://localhost:${port}/`);
    assert.equal((await roundTrip(ws, `port ${port}`, false)).data.toString(), `port ${port}`);
    ws.close();
    await closed(ws);
  }
  await startGuideHaproxy(t);
  await assertGuideTranscript("ws://localhost:8080/");
  primary.child.kill("SIGTERM");
  assert.equal((await primary.exited).code, 0);
});

test("the guide's app.py runs unchanged under --exec on its own ports 8000-8003", async (t) => {
  const primary = startPrimary(t, ["--workers", "4", "--exec", `${SYSTEM_PYTHON} ${FIXTURES}app.py`], {
    env: { PYTHONPATH: "" },
  });
  const running = await primary.waitForRunning(4, 0, 30_000);
  assert.deepEqual([...running.keys()].sort(), [
    "websockets-test_00",
    "websockets-test_01",
    "websockets-test_02",
    "websockets-test_03",
  ]);
  for (let port = 8000; port <= 8003; port += 1) {
    const ws = await connect(`ws://localhost:${port}/`);
    assert.equal((await roundTrip(ws, "Hello!", false)).data.toString(), "Hello!");
    ws.close();
    await closed(ws);
  }
  await assertGuideTranscript("ws://localhost:8002/");
  primary.child.kill("SIGTERM");
  assert.equal((await primary.exited).code, 0);
});

test("the one-command deployment: --workers 4 --haproxy on 8000-8003 and 8080, the guide's Python client on 8080", async (t) => {
  const primary = startPrimary(t, ["--workers", "4", "--haproxy"]);
  const started = await primary.waitForEvent((event) => event.event === "haproxy-started", 20_000);
  assert.equal(started.frontendPort, 8080);
  await assertGuideTranscript("ws://localhost:8080/");
  primary.child.kill("SIGTERM");
  assert.equal((await primary.exited).code, 0);
});

test("--exec with --haproxy: the guide's app.py behind the generated config (TCP health checks), Python client on 8080", async (t) => {
  const primary = startPrimary(t, ["--workers", "4", "--haproxy", "--exec", `${SYSTEM_PYTHON} ${FIXTURES}app.py`]);
  await primary.waitForRunning(4, 0, 30_000);
  await primary.waitForEvent((event) => event.event === "haproxy-started", 20_000);
  await assertGuideTranscript("ws://localhost:8080/");
  // app.py serves no /healthz, so the checks are TCP connects: every server is UP (a server checked before its
  // app.py listened may have been DOWN for a moment, and must be back UP).
  const lastState = () => {
    const states = {};
    for (const event of primary.events) if (event.event === "haproxy-server") states[event.worker] = event.state;
    return states;
  };
  const allUp = await eventually(() => Object.values(lastState()).every((state) => state === "UP"), 5000);
  assert.ok(allUp, JSON.stringify(lastState()));
  primary.child.kill("SIGTERM");
  assert.equal((await primary.exited).code, 0);
});

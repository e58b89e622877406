import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { within } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

const WORKER = fileURLToPath(new URL("../../dist/worker.js", import.meta.url));

test("a worker listens exclusively: a uWS server sharing the port with SO_REUSEPORT makes it fail, not share", async (t) => {
  const port = await freePortRange(1);
  // uWebSockets.js listens with SO_REUSEPORT by default on Linux: this one would silently share with a second one.
  const sharer = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import uWS from "uWebSockets.js"; uWS.App().any("/*", (res) => res.end("sharer")).listen("127.0.0.1", ${port}, (s) => console.log(s ? "up" : "down"));`,
    ],
    { cwd: fileURLToPath(new URL("../..", import.meta.url)), stdio: ["ignore", "pipe", "inherit"] },
  );
  t.after(() => sharer.kill("SIGKILL"));
  const [first] = await once(sharer.stdout, "data");
  assert.equal(String(first).trim(), "up");
  const worker = spawn(process.execPath, [WORKER], {
    env: { ...process.env, PORT: String(port), WSFLEET_HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const messages = [];
  worker.on("message", (message) => messages.push(message));
  let stderr = "";
  worker.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  t.after(() => worker.kill("SIGKILL"));
  const code = await within(
    once(worker, "exit").then(([exitCode]) => exitCode),
    5000,
    "still running: it shared the port",
  );
  assert.equal(code, 2);
  assert.deepEqual(messages, [{ type: "listen-failed", host: "127.0.0.1", port }]);
  assert.match(stderr, new RegExp(`could not listen on 127.0.0.1:${port}`));
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "sharer");
});

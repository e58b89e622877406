import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { assertGuideTranscript } from "../helpers/clients.js";
import { eventually, PRIMARY, TIMEOUT_FACTOR } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

const REPO = path.resolve(path.dirname(PRIMARY), "..");
const TSC = path.join(REPO, "node_modules/typescript/bin/tsc");
const run = promisify(execFile);
/** npm with the cache `npm ci` filled: the registry only for what is not there. */
const NPM_QUIET = ["--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"];

async function tsc(dir, compilerOptions, source) {
  writeFileSync(path.join(dir, "app.ts"), source);
  const options = { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true };
  writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { ...options, ...compilerOptions }, include: ["app.ts"] }),
  );
  return run(process.execPath, [TSC, "-p", dir]).then(
    () => ({ code: 0, output: "" }),
    (error) => ({ code: error.code, output: `${error.stdout}${error.stderr}` }),
  );
}

const APP = `import type { WsfleetApp } from "wsfleet";
const app: WsfleetApp = { message(ws, message, isBinary) { ws.send(message, isBinary); } };
export default app;
`;

test("npm pack: the tarball installs into an empty folder, npx wsfleet echoes for the guide's client, its types check", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-test-package-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // dist/ is built by `npm test` already; pack's own prepack (clean + build) would pull it from under other tests.
  const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: REPO });
  const [{ filename, files }] = JSON.parse(packed.stdout);
  const paths = files.map((file) => file.path);
  for (const needed of ["package.json", "README.md", "LICENSE", "dist/primary.js", "dist/worker.js", "dist/guard.js"]) {
    assert.ok(paths.includes(needed), `${needed} missing from the tarball`);
  }
  assert.ok(paths.includes("dist/index.d.ts") && paths.includes("dist/api/types.d.ts"));
  const stray = paths.filter((file) => !/^(dist\/|examples\/|package\.json$|README\.md$|LICENSE$)/.test(file));
  assert.deepEqual(stray, [], "nothing but dist/, examples/, package.json, README.md and LICENSE");
  assert.deepEqual(
    paths.filter((file) => /\.map$|^dist\/.*\.test\./.test(file)),
    [],
    "no source maps (src/ is not shipped) and no tests",
  );

  const app = path.join(dir, "app");
  mkdirSync(app);
  await run("npm", ["install", path.join(dir, filename), ...NPM_QUIET], { cwd: app, timeout: 60_000 * TIMEOUT_FACTOR });

  // Globally (here into a prefix of our own): the bin is on that prefix's PATH.
  const prefix = path.join(dir, "global");
  await run("npm", ["install", "-g", "--prefix", prefix, path.join(dir, filename), ...NPM_QUIET], {
    timeout: 60_000 * TIMEOUT_FACTOR,
  });
  const version = await run(path.join(prefix, "bin/wsfleet"), ["--version"]);
  assert.equal(version.stdout.trim(), JSON.parse(packed.stdout)[0].version);

  const port = await freePortRange(2);
  const fleet = spawn(
    "npx",
    ["wsfleet", "--workers", "2", "--base-port", String(port), "--host", "127.0.0.1", "--start-secs", "0"],
    { cwd: app, stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  let log = "";
  fleet.stderr.on("data", (chunk) => {
    log += chunk;
  });
  const stop = (signal) => {
    try {
      process.kill(-fleet.pid, signal);
    } catch {}
  };
  t.after(() => stop("SIGKILL"));
  assert.ok(await eventually(() => /ready: 2 of 2 workers RUNNING/.test(log), 20_000 * TIMEOUT_FACTOR), log);
  assert.match(log, /spawned: 'websockets-test_00'/);
  await assertGuideTranscript(`ws://127.0.0.1:${port}/`);
  await assertGuideTranscript(`ws://127.0.0.1:${port + 1}/`);
  stop("SIGTERM");
  assert.ok(await eventually(() => /all workers stopped; exiting/.test(log), 10_000 * TIMEOUT_FACTOR), log);

  // A separate TypeScript project: without @types/node (skipLibCheck, as `tsc --init` sets it), and with it, strict.
  assert.deepEqual(await tsc(app, { skipLibCheck: true, types: [] }, APP), { code: 0, output: "" });
  const withNode = { skipLibCheck: false, types: ["node"], typeRoots: [path.join(REPO, "node_modules/@types")] };
  assert.deepEqual(await tsc(app, withNode, APP), { code: 0, output: "" });
  // The types are real: an app without its message handler is refused.
  const wrong = await tsc(app, withNode, APP.replace(/message\(ws, message, isBinary\) \{[^}]*\}/, "path: 42"));
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.output, /app\.ts\(2,\d+\): error TS\d+/);
});

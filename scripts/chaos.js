#!/usr/bin/env node
// `npm run test:chaos`: runs test/chaos/*.test.js one file at a time (the scenarios load the machine), collects
// their figures in docs/reliability.json and renders docs/RELIABILITY.md. Exits with the tests' status.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { collectMachine } from "../bench/lib/machine.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const JSON_PATH = `${ROOT}docs/reliability.json`;
function openFilesLimit() {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((each) => each.startsWith("Max open files"));
  return line ? Number(line.split(/\s{2,}/)[1]) : null;
}

const files = readdirSync(`${ROOT}test/chaos`)
  .filter((name) => name.endsWith(".test.js") && (process.argv.length <= 2 || process.argv.slice(2).includes(name)))
  .map((name) => `test/chaos/${name}`);
const startedAt = new Date();
mkdirSync(`${ROOT}docs`, { recursive: true });
// Named files re-run part of the suite: their scenarios replace their old figures, the rest of the run stays.
const subset = process.argv.length > 2;
const previous = subset ? JSON.parse(readFileSync(JSON_PATH, "utf8")) : undefined;
const fresh = { startedAt: startedAt.toISOString(), scenarios: {} };
const doc = subset
  ? { ...previous, reruns: [...(previous.reruns ?? []), { files: process.argv.slice(2), at: startedAt.toISOString() }] }
  : fresh;
writeFileSync(JSON_PATH, `${JSON.stringify(doc, null, 2)}\n`);
const run = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=1", "--test-timeout=600000", "--test-reporter=spec", ...files],
  { cwd: ROOT, stdio: "inherit", env: { ...process.env, WSFLEET_RELIABILITY_JSON: JSON_PATH } },
);
const render = spawnSync(
  process.execPath,
  [
    "scripts/reliability-report.js",
    JSON.stringify({
      machine: { ...collectMachine(), openFilesLimit: openFilesLimit() },
      ...(subset ? {} : { durationSecs: (Date.now() - startedAt.getTime()) / 1000, passed: run.status === 0 }),
    }),
  ],
  { cwd: ROOT, stdio: "inherit" },
);
process.exit(run.status || render.status || 0);

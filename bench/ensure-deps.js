#!/usr/bin/env node
/**
 * `npm run bench` first: installs bench/'s own dependencies (never the users') when they are missing or stale.
 * Two callers at once (npm test runs its files two at a time, and two of them use bench/) take turns: the one that
 * holds bench/node_modules.installing/ runs `npm ci`, the other waits for it and then finds the install fresh.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const installed = `${BENCH_DIR}node_modules/.package-lock.json`;
const lock = `${BENCH_DIR}package-lock.json`;
const turn = `${BENCH_DIR}node_modules.installing`;
const STALE_MS = 5 * 60_000; // longer than any npm ci of bench/ here: a turn this old was left by a killed install

const fresh = () => existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs;

function takeTurn() {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(turn);
      return;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    try {
      if (Date.now() - statSync(turn).mtimeMs > STALE_MS) rmSync(turn, { recursive: true, force: true });
    } catch {
      // released between the mkdir and the stat: try again
    }
    Atomics.wait(pause, 0, 0, 200);
  }
}

if (!fresh()) {
  takeTurn();
  try {
    if (!fresh()) {
      process.stderr.write("bench: installing bench/ dependencies (npm ci)\n");
      execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: BENCH_DIR, stdio: "inherit" });
    }
  } finally {
    rmSync(turn, { recursive: true, force: true });
  }
}

#!/usr/bin/env node
/** `npm run bench` first: installs bench/'s own dependencies (never the users') when they are missing or stale. */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const installed = `${BENCH_DIR}node_modules/.package-lock.json`;
const lock = `${BENCH_DIR}package-lock.json`;

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write("bench: installing bench/ dependencies (npm ci)\n");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: BENCH_DIR, stdio: "inherit" });
}

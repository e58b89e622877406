/**
 * The C load generator (bench/cload/*.c) from load.js: compiled with the system `cc` on first use (no binary is
 * committed), run with the same settings, and its raw counts turned into the same partial result as the Node
 * scenarios, so `load.js --client c` prints the same JSON as `load.js`, for ws:// and (built with OpenSSL) wss://.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createLatencyHistogram } from "./stats.js";

const SOURCE_DIR = fileURLToPath(new URL("../cload/", import.meta.url));
const BUILD_DIR = `${SOURCE_DIR}build/`;
const BINARY = `${BUILD_DIR}cload`;

const sourceFiles = () =>
  readdirSync(SOURCE_DIR)
    .filter((f) => f.endsWith(".c") || f.endsWith(".h"))
    .map((f) => `${SOURCE_DIR}${f}`);
// Into a file of this process's own, then renamed over the binary: two test files building at once (npm test runs
// two at a time) never write the same file, and neither runs a half-written one or one the other is writing.
const cc = (output, args) =>
  execFileSync("cc", ["-O2", "-Wall", "-o", output, ...sourceFiles().filter((f) => f.endsWith(".c")), ...args], {
    stdio: "pipe",
  });

/**
 * The binary's path, compiled when missing or older than a source file: with TLS (OpenSSL) when its headers are
 * there, else without; throws with cc's output when neither builds.
 */
export function ensureCload() {
  const newest = Math.max(...sourceFiles().map((f) => statSync(f).mtimeMs));
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= newest) return BINARY;
  mkdirSync(BUILD_DIR, { recursive: true });
  const output = `${BINARY}.${process.pid}`;
  try {
    cc(output, ["-DCLOAD_TLS", "-lssl", "-lcrypto"]);
  } catch {
    try {
      cc(output, []);
    } catch (error) {
      rmSync(output, { force: true });
      throw new Error(
        `cc could not build ${SOURCE_DIR} (install a C compiler: apt-get install gcc): ${error.stderr ?? error.message}`,
      );
    }
  }
  renameSync(output, BINARY);
  return BINARY;
}

/** Whether the built cload speaks wss:// (`cload -V`): false when OpenSSL's headers were missing at build time. */
export function cloadHasTls() {
  return execFileSync(ensureCload(), ["-V"], { encoding: "utf8" }).trim() === "cload tls";
}

function cloadArgs(settings) {
  const args = ["-h", settings.host, "-P", String(settings.port), "-u", settings.path];
  args.push("-c", String(settings.connections), "-m", String(settings.messageBytes));
  args.push("-w", String(settings.warmupMs / 1000), "-d", String(settings.durationMs / 1000));
  if (settings.mode === "connect") args.push("-C");
  else if (settings.ratePerSecond > 0) args.push("-r", String(settings.ratePerSecond));
  else args.push("-p", String(settings.depth));
  if (settings.binary) args.push("-b");
  if (settings.tls) args.push("-t");
  return args;
}

/** Runs cload; hooks.onMeasureStart/End fire when it says the measured window opens and closes. */
export function runCload(settings, hooks = {}) {
  const binary = ensureCload();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, cloadArgs(settings), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    createInterface({ input: child.stderr }).on("line", (line) => {
      if (line === "measuring") hooks.onMeasureStart?.();
      else if (line === "measured") hooks.onMeasureEnd?.();
      else stderr += `${line}\n`;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`cload exited with ${code}: ${stderr}`));
      else resolve(toPartial(JSON.parse(stdout)));
    });
  });
}

/** cload's raw JSON → the partial result of a scenario (histogram in µs, as load.js records it). */
function toPartial(raw) {
  const histogram = createLatencyHistogram();
  for (const [ns, count] of raw.latencyNs) histogram.recordValueWithCount(Math.max(1, Math.round(ns / 1000)), count);
  const { latencyNs: _, ...rest } = raw;
  return { ...rest, histogram };
}

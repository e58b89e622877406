/** The machine and the versions a result was measured with. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

const ROOT_DIR = fileURLToPath(new URL("../..", import.meta.url));

function tryRun(command, args) {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: ROOT_DIR }).trim();
  } catch {
    return null;
  }
}

function packageVersion(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8")).version;
  } catch {
    return null;
  }
}

export function collectMachine() {
  return {
    host: os.hostname(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    versions: {
      node: process.version,
      haproxy: tryRun("haproxy", ["-v"])?.split("\n")[0] ?? null,
      python: tryRun("/usr/bin/python3", ["--version"]),
      pythonWebsockets: tryRun("/usr/bin/python3", ["-c", "import websockets; print(websockets.__version__)"]),
      supervisord: tryRun("supervisord", ["--version"]),
      pm2: packageVersion(`${ROOT_DIR}bench/node_modules/pm2/package.json`),
      ws: packageVersion(`${ROOT_DIR}bench/node_modules/ws/package.json`),
      uWebSocketsJs: packageVersion(`${ROOT_DIR}node_modules/uWebSockets.js/package.json`),
      wsfleet: tryRun("git", ["describe", "--always", "--dirty"]),
    },
  };
}

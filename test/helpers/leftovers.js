import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { isAlive } from "./fleet.js";

/** Every live process that names `primaryPid` as its primary: workers, haproxy, the guard (all carry the marker). */
export function marked(primaryPid) {
  const marker = `WSFLEET_PRIMARY_PID=${primaryPid}`;
  const found = [];
  for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1").split("\0");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0");
      const isGuard = cmdline.some((arg) => arg.endsWith("guard.js")) && cmdline.includes(String(primaryPid));
      if ((environ.includes(marker) || isGuard) && isAlive(Number(entry))) found.push(`${entry} ${cmdline.join(" ")}`);
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

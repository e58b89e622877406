import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { eventually } from "./fleet.js";
import { freePortRange } from "./ports.js";

export function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * A real `redis-server` on a free port of 127.0.0.1, persistence off, killed when the test ends. `stop()` SIGKILLs it
 * (Redis going away under traffic) and `start()` brings it back on the same port.
 */
export async function startRedis(t) {
  const port = await freePortRange(1);
  let child;
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    if (!(await eventually(() => accepts(port), 5000))) throw new Error(`redis-server did not listen on ${port}`);
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  t.after(stop);
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, stop, pid: () => child.pid };
}

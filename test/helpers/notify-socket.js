import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SYSTEM_PYTHON } from "./fleet.js";

// A unix datagram socket, as systemd's NOTIFY_SOCKET is: Node has none, so Python's socket module listens and prints
// each datagram as one JSON line with the time it arrived. Closing the BARRIER=1 fd (recv drops it) ends the barrier.
const LISTENER = `
import json, socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
print(json.dumps({"listening": True}), flush=True)
while True:
    data = sock.recv(4096)
    print(json.dumps({"timeMs": time.time() * 1000, "message": data.decode()}), flush=True)
`;

/** Listens as NOTIFY_SOCKET would; `messages` fill as datagrams arrive, `waitFor(predicate)` resolves with one. */
export async function listenNotifySocket(t) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-test-notify-"));
  const socketPath = path.join(dir, "notify.sock");
  const child = spawn(SYSTEM_PYTHON, ["-c", LISTENER, socketPath], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const messages = [];
  const waiters = new Set();
  let pending = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines) {
      const record = JSON.parse(line);
      if (record.listening) continue;
      messages.push(record);
      for (const waiter of waiters) waiter();
    }
  });
  const [first] = await once(child.stdout, "data");
  if (!String(first).includes("listening")) throw new Error(`notify listener did not start: ${first}`);
  return {
    socketPath,
    messages,
    /** The first message from index `from` on that has `assignment` (READY=1) among its lines. */
    waitFor(assignment, from = 0) {
      const find = () => messages.slice(from).find((record) => record.message.split("\n").includes(assignment));
      return new Promise((resolve) => {
        const check = () => {
          const found = find();
          if (!found) return;
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

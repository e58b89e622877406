/** Free loopback ports for the targets, away from the root test suite's fixed 8000-8003 and 8080. */
import net from "node:net";

const RESERVED = new Set([8000, 8001, 8002, 8003, 8080]);

function canListen(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function allFree(ports) {
  for (const port of ports) if (RESERVED.has(port) || !(await canListen(port))) return false;
  return true;
}

/** `count` consecutive free ports from a random base in 20000-29999 (below Linux's ephemeral range). */
export async function freePortRange(count) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const base = 20000 + Math.floor(Math.random() * 9000);
    if (await allFree(Array.from({ length: count }, (_, i) => base + i))) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/**
 * The guide's app.py listens on 8000 + the last two digits of its process name, so its ports are 8000-8099; this
 * picks a first process number `start` (supervisord's numprocs_start) whose ports are free and avoid 8000-8003, 8080.
 */
export async function freeGuideOffset(count) {
  for (let start = 10; start + count - 1 <= 99; start += 1) {
    const ports = Array.from({ length: count }, (_, i) => 8000 + start + i);
    if (await allFree(ports)) return start;
  }
  throw new Error(`no ${count} free ports in 8010-8099 for the guide's app.py`);
}

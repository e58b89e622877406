/** Opening many connections at once, a bounded number of handshakes in flight. */
import { openWebSocket } from "../connection.js";

const OPEN_CONCURRENCY = 256; // handshakes in flight at once while opening many connections

/** Opens `count` connections, `OPEN_CONCURRENCY` at a time; failures are counted in `errors`, not thrown. */
export async function openMany(settings, count, errors) {
  const opened = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      try {
        opened.push(await openWebSocket(settings));
      } catch (error) {
        errors.connect += 1;
        errors.lastMessage = String(error.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, count) }, worker));
  return opened;
}

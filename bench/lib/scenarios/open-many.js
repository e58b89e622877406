/** Opening many connections at once, a bounded number of handshakes in flight. */
import { openWebSocket } from "../connection.js";

const OPEN_CONCURRENCY = 256; // handshakes in flight at once while opening many connections
const SOURCE_ADDRESSES = 16; // loopback source addresses the connections to a loopback target are spread over

/**
 * A loopback source address for connection `index` of a loopback target, else none. Linux gives connect() the even
 * half of the ephemeral range first (14,000 ports here) and then scans for an odd one on every connect: 20,000
 * connections from one address took 28 s to open, against 3 s for 9,000. Spread over 16 addresses they never
 * come near that.
 */
function sourceAddress(host, index) {
  return host.startsWith("127.") ? `127.0.${1 + (index % SOURCE_ADDRESSES)}.1` : undefined;
}

/** Opens `count` connections, `OPEN_CONCURRENCY` at a time; failures are counted in `errors`, not thrown. */
export async function openMany(settings, count, errors) {
  const opened = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      try {
        opened.push(await openWebSocket({ ...settings, localAddress: sourceAddress(settings.host, next) }));
      } catch (error) {
        errors.connect += 1;
        errors.lastMessage = String(error.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, count) }, worker));
  return opened;
}

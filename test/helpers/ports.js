import net from "node:net";

function canListen(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

// Above the guide's fixed 8000-8003 and 8080, and below the kernel's ephemeral range (32768-60999 here, see
// /proc/sys/net/ipv4/ip_local_port_range), so the local port of an outgoing connection never takes a test's port.
const FIRST_PORT = 10000;
const LAST_PORT = 32000;

/** `count` consecutive free ports in FIRST_PORT..LAST_PORT, picked at random so test files in parallel do not collide. */
export async function freePortRange(count) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const base = FIRST_PORT + Math.floor(Math.random() * (LAST_PORT - FIRST_PORT - count + 2));
    let ok = true;
    for (let port = base; port < base + count && ok; port += 1) ok = await canListen(port);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** Holds `port` on 127.0.0.1 with a plain listening socket (a stand-in for another program) until the test ends. */
export async function holdPort(t, port) {
  const server = net.createServer().listen(port, "127.0.0.1");
  await new Promise((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  t.after(() => server.close());
  return server;
}

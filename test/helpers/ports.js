import net from "node:net";

function canListen(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports, away from the guide's fixed 8000-8003 and 8080, picked at random so test files
 * running in parallel do not collide.
 */
export async function freePortRange(count) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const base = 20000 + Math.floor(Math.random() * 30000);
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

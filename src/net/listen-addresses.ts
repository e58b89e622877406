import { lookup } from "node:dns/promises";

/**
 * The addresses to listen on for `host`. "localhost" may mean 127.0.0.1, ::1 or both, and clients pick either
 * (HAProxy's `server localhost:8000` takes one, Python's client tries all), so a worker listens on every one.
 */
export async function listenAddresses(host: string): Promise<string[]> {
  if (host !== "localhost") return [host];
  const found = await lookup(host, { all: true, verbatim: true }).catch(() => []);
  const addresses = [...new Set(found.map((entry) => entry.address))];
  return addresses.length > 0 ? addresses : ["127.0.0.1"];
}

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { invalidOption } from "../errors.js";

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

/**
 * HAProxy resolves its bind names itself and refuses a config whose name does not resolve (a machine without
 * /etc/hosts has no "localhost"): say so naming the option, before anything starts, instead of a failed `haproxy -c`.
 */
export async function assertResolves(host: string, option: string): Promise<void> {
  if (isIP(host) !== 0) return;
  const failure = await lookup(host).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code ?? error.message,
  );
  if (failure) {
    throw invalidOption(
      option,
      host,
      `a name this machine resolves (the lookup failed with ${failure}: is it in /etc/hosts?), or an address such as 127.0.0.1`,
    );
  }
}

import { readdir, readFile, readlink } from "node:fs/promises";
import net from "node:net";
import { invalidOption, type PortHolder, wsfleetError } from "../errors.js";
import { listenAddresses } from "./listen-addresses.js";

const TCP_LISTEN = "0A";

/** The inodes of sockets listening on `port`, from /proc/net/tcp and tcp6 (Linux). */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const row of text.split("\n").slice(1)) {
      const columns = row.trim().split(/\s+/);
      const localAddress = columns[1];
      if (!localAddress || columns[3] !== TCP_LISTEN) continue;
      if (localAddress.endsWith(`:${hexPort}`) && columns[9]) inodes.add(columns[9]);
    }
  }
  return inodes;
}

/** Which process holds a listening socket on `port`, where /proc lets us see it. */
async function findPortHolder(port: number): Promise<PortHolder | undefined> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return undefined;
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((entry) => /^\d+$/.test(entry));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1] && inodes.has(match[1])) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        return { pid: Number(pid), command: cmdline.split("\0").filter(Boolean).join(" ") || "unknown" };
      }
    }
  }
  return undefined;
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error));
    // exclusive: no SO_REUSEPORT, so a fleet that shares the port with SO_REUSEPORT is found too.
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** Throws WSFLEET_PORT_IN_USE naming the port and its holder when `port` cannot be bound on `host`. */
export async function assertPortFree(
  host: string,
  port: number,
  options: PortOptionNames = { port: "--base-port", host: "--host" },
): Promise<void> {
  for (const address of await listenAddresses(host)) await assertAddressFree(host, address, port, options);
}

/** Which options an error names: the workers' (--base-port, --host) or the frontend's. */
export interface PortOptionNames {
  port: string;
  host: string;
}

async function assertAddressFree(host: string, address: string, port: number, options: PortOptionNames): Promise<void> {
  const error = await tryListen(address, port);
  if (!error) return;
  if (error.code === "EADDRINUSE")
    throw wsfleetError("portInUse", host, port, await findPortHolder(port), options.port);
  if (error.code === "EACCES") {
    throw invalidOption(options.port, port, "a port this user may bind (1024 or above unless run as root)");
  }
  if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND" || error.code === "EAI_AGAIN") {
    throw invalidOption(options.host, host, `a name or address of this machine (${error.code})`);
  }
  throw error;
}

import uWS from "uWebSockets.js";
import { createEchoApp } from "../echo/app.js";
import { listenAddresses } from "../net/listen-addresses.js";

export interface ServeOptions {
  host: string;
  port: number;
  /** This mode owns its port: listen without SO_REUSEPORT, so a second fleet on the same port fails loudly. */
  exclusivePort: boolean;
}

export interface RunningServer {
  addresses: string[];
  /** Stop accepting, refuse handshakes with 503, close every connection with `closeCode`; resolves when all are closed. */
  drain(closeCode: number, reason: string): Promise<void>;
}

export class ListenError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`could not listen on ${host}:${port}`);
  }
}

/** libusockets' listen flags; the typings of v20.51.0 declare the enum but the runtime exports no object for it. */
const LIBUS_LISTEN_DEFAULT = 0;
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/** uWS.js takes (host, port, options, callback) at run time; its typings omit that overload. */
type ListenWithOptions = (
  host: string,
  port: number,
  options: number,
  callback: (socket: uWS.us_listen_socket | false) => void,
) => uWS.TemplatedApp;

function listenOn(
  app: uWS.TemplatedApp,
  address: string,
  port: number,
  exclusive: boolean,
): Promise<uWS.us_listen_socket> {
  return new Promise((resolve, reject) => {
    const flags = exclusive ? LIBUS_LISTEN_EXCLUSIVE_PORT : LIBUS_LISTEN_DEFAULT;
    (app.listen as unknown as ListenWithOptions).call(app, address, port, flags, (socket) =>
      socket ? resolve(socket) : reject(new ListenError(address, port)),
    );
  });
}

export async function serveEcho(options: ServeOptions): Promise<RunningServer> {
  const open = new Set<uWS.WebSocket<unknown>>();
  let draining = false;
  let onAllClosed: (() => void) | undefined;
  const app = createEchoApp({
    isDraining: () => draining,
    onOpen: (ws) => open.add(ws),
    onClose: (ws) => {
      open.delete(ws);
      if (open.size === 0) onAllClosed?.();
    },
  });
  const addresses = await listenAddresses(options.host);
  const sockets: uWS.us_listen_socket[] = [];
  try {
    for (const address of addresses) sockets.push(await listenOn(app, address, options.port, options.exclusivePort));
  } catch (error) {
    for (const socket of sockets) uWS.us_listen_socket_close(socket);
    throw error;
  }
  return {
    addresses,
    drain(closeCode, reason) {
      draining = true;
      for (const socket of sockets.splice(0)) uWS.us_listen_socket_close(socket);
      const allClosed = new Promise<void>((resolve) => {
        onAllClosed = resolve;
      });
      for (const ws of [...open]) ws.end(closeCode, reason);
      if (open.size === 0) return Promise.resolve();
      return allClosed;
    },
  };
}

/**
 * A pure model of the HAProxy in front of a fleet: one frontend, one backend of servers, timeouts, health checks.
 * `seedModel` is the guide's config exactly; `websocketModel` keeps every one of its settings and adds what
 * long-lived WebSocket connections need. config.ts renders either one.
 */
import { processName } from "../protocol/naming.js";

export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface ServerModel {
  /** Supervisor's process name, `<name>_<NN>`, so HAProxy's view and the fleet's log use the same names. */
  readonly name: string;
  readonly address: Address;
}

export interface HealthCheckModel {
  /** The HTTP path to GET; undefined: a plain TCP connect check (for --exec programs that serve no /healthz). */
  readonly path: string | undefined;
  readonly hostHeader: string;
  readonly intervalMs: number;
  /** Failed checks in a row before a server is DOWN. */
  readonly fall: number;
  /** Good checks in a row before a server is UP again. */
  readonly rise: number;
}

interface TimeoutsModel {
  readonly connectMs: number;
  readonly clientMs: number;
  readonly serverMs: number;
  /** Once a connection is upgraded, this replaces client/server timeouts; undefined in the guide. */
  readonly tunnelMs?: number;
  readonly clientFinMs?: number;
}

/** Per client address: open connections and new connections a second, each undefined when unlimited. */
export interface AddressLimitsModel {
  readonly maxConnsPerIp: number | undefined;
  readonly handshakeRatePerSec: number | undefined;
}

export interface HaproxyModel {
  /** The runtime API's unix socket (`stats socket`); undefined: no global section, as in the guide. */
  readonly runtimeSocket?: string;
  /** The runtime socket hands the listening sockets to a new HAProxy started with `-x` (`wsfleet upgrade`). */
  readonly exposeListeners?: boolean;
  readonly timeouts: TimeoutsModel;
  /** Retries of a failed connection or a 503 handshake on another server; undefined: HAProxy's default. */
  readonly retries?: number;
  readonly frontend: {
    readonly name: string;
    readonly bind: Address;
    readonly maxconn?: number;
    /** TLS terminated here: the `crt` file (certificate chain and key in one PEM); undefined: plain ws://. */
    readonly tlsCrtFile?: string;
    /** --max-conns-per-ip / --handshake-rate, as a stick table keyed by the client's address; undefined: none. */
    readonly addressLimits?: AddressLimitsModel;
  };
  readonly backend: {
    readonly name: string;
    readonly healthCheck?: HealthCheckModel;
    readonly servers: readonly ServerModel[];
  };
  /** Stats page and Prometheus exporter; undefined: none. */
  readonly stats?: Address;
}

/** The machines of a fleet: each host serves one worker per port of its range. */
export interface ServerHost {
  readonly host: string;
  readonly firstPort: number;
  readonly lastPort: number;
}

export const GUIDE_NAME = "websocket";
const GUIDE_FRONTEND: Address = Object.freeze({ host: "localhost", port: 8080 });
const HEALTH_PATH = "/healthz";

/** HAProxy server names allow letters, digits and `-_.:`; anything else (IPv6 brackets) becomes `_`. */
function serverNamePart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.:-]/g, "_");
}

/**
 * One server per worker. One host: `<name>_<NN>`, the guide's names. Several hosts: `<name>_<host>_<NN>`, unique
 * across hosts, still ending in the two digits the guide's app reads its port from.
 */
export function serversFor(programName: string, hosts: readonly ServerHost[]): ServerModel[] {
  return hosts.flatMap((entry) => {
    const servers: ServerModel[] = [];
    const prefix = hosts.length === 1 ? programName : `${programName}_${serverNamePart(entry.host)}`;
    for (let port = entry.firstPort; port <= entry.lastPort; port += 1) {
      servers.push({ name: processName(prefix, port - entry.firstPort), address: { host: entry.host, port } });
    }
    return servers;
  });
}

/** The guide's haproxy.cfg (examples/haproxy.cfg), as a model. */
export function seedModel(): HaproxyModel {
  return {
    timeouts: { connectMs: 10_000, clientMs: 30_000, serverMs: 30_000 },
    frontend: { name: GUIDE_NAME, bind: GUIDE_FRONTEND },
    backend: {
      name: GUIDE_NAME,
      servers: serversFor("websockets-test", [{ host: "localhost", firstPort: 8000, lastPort: 8003 }]),
    },
  };
}

export interface WebsocketModelInput {
  readonly servers: readonly ServerModel[];
  readonly frontend: Address;
  readonly runtimeSocket?: string | undefined;
  readonly exposeListeners?: boolean;
  readonly stats?: Address | undefined;
  readonly tunnelTimeoutMs?: number;
  readonly maxconn?: number;
  /** false: check servers with a TCP connect instead of GET /healthz (an --exec program may have no /healthz). */
  readonly httpHealthCheck?: boolean;
  /** wss://: HAProxy terminates TLS with this `crt` file; the servers behind it stay plain. */
  readonly tlsCrtFile?: string | undefined;
  readonly addressLimits?: AddressLimitsModel | undefined;
}

const DEFAULT_TUNNEL_TIMEOUT_MS = 3_600_000;
export const DEFAULT_MAXCONN = 10_000;

/** The guide's settings plus what WebSockets need; config.ts says why each one is there. */
export function websocketModel(input: WebsocketModelInput): HaproxyModel {
  const seed = seedModel();
  return {
    ...(input.runtimeSocket === undefined ? {} : { runtimeSocket: input.runtimeSocket }),
    ...(input.exposeListeners ? { exposeListeners: true } : {}),
    timeouts: {
      ...seed.timeouts,
      tunnelMs: input.tunnelTimeoutMs ?? DEFAULT_TUNNEL_TIMEOUT_MS,
      clientFinMs: seed.timeouts.clientMs,
    },
    retries: 3,
    frontend: {
      name: GUIDE_NAME,
      bind: input.frontend,
      maxconn: input.maxconn ?? DEFAULT_MAXCONN,
      ...(input.tlsCrtFile === undefined ? {} : { tlsCrtFile: input.tlsCrtFile }),
      ...(input.addressLimits === undefined ? {} : { addressLimits: input.addressLimits }),
    },
    backend: {
      name: GUIDE_NAME,
      healthCheck: {
        path: input.httpHealthCheck === false ? undefined : HEALTH_PATH,
        hostHeader: input.servers[0]?.address.host ?? "localhost",
        intervalMs: 1000,
        fall: 2,
        rise: 1,
      },
      servers: input.servers,
    },
    ...(input.stats === undefined ? {} : { stats: input.stats }),
  };
}

/**
 * The connections HAProxy can hold with `openFilesLimit` descriptors: without a global maxconn it derives its own
 * from `ulimit -n`, two descriptors a connection after about 28 of its own (`show info`: 1024 gives 498, 20000 9986).
 */
export function haproxyConnectionsFor(openFilesLimit: number): number {
  return Math.max(0, Math.floor((openFilesLimit - 28) / 2));
}

/** Where HAProxy reaches a worker that listens on `host`: a wildcard address is reached on loopback. */
export function workerAddress(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "::1";
  return host;
}

/**
 * Every command-line option in one table, gunicorn's `Setting` in spirit: its flags, default, parser, help line and
 * the commands that take it. Commander's help, validation and the options table of docs/options.md are all made
 * from this table, so they cannot drift apart. Pure: no I/O.
 */
import { parseOriginList } from "../admission/origin.js";
import { invalidOption } from "../errors.js";
import { CONNECTION_DEFAULTS, MAX_PORT } from "../protocol/worker-env.js";
import {
  bytesText,
  parseBytes,
  parseChoice,
  parseHost,
  parseHostPort,
  parseInteger,
  parseNonEmpty,
  parsePort,
  parseSeconds,
} from "./parsers.js";

export type CommandName =
  | "run"
  | "haproxy-config"
  | "reload"
  | "reload-cert"
  | "status"
  | "systemd-unit"
  | "scale"
  | "restart"
  | "stop"
  | "logs"
  | "client"
  | "config"
  | "upgrade";

export interface Setting<T = unknown> {
  /** A switch takes no value: true when given. */
  readonly isSwitch?: true;
  /** "-w, --workers <n>"; a flag without `<value>` is a switch (true when given). */
  readonly flags: string;
  readonly help: string;
  /** The value used when the option is not given, as the user would type it; parsed by `parse` like theirs. */
  readonly default?: string;
  /** How the default reads in help and docs/options.md when it is not a plain value. */
  readonly defaultText?: string;
  readonly commands: readonly CommandName[];
  /** Names the option, the value and what would be right when the value is wrong. */
  readonly parse?: (value: string, option: string) => T;
}

function setting<const S extends Setting>(spec: S): S {
  return Object.freeze(spec);
}

// `wsfleet systemd-unit` takes every option of the fleet it writes a unit for, and puts them in its ExecStart.
// `wsfleet config` takes them too, and shows where each effective value came from.
const RUN: readonly CommandName[] = ["run", "systemd-unit", "config"];
const RUN_AND_CONFIG: readonly CommandName[] = ["run", "haproxy-config", "systemd-unit", "config"];

/** A drain duration of the built-in worker, in seconds (0 or more); its default lives in CONNECTION_DEFAULTS. */
function drainSeconds(flags: string, help: string, defaultMs: number, hint: string) {
  return setting({
    flags,
    help,
    default: String(defaultMs / 1000),
    commands: RUN,
    parse: (value: string, option: string) => parseSeconds(option, value, 0, hint),
  });
}

export const MAX_WORKERS = 1024;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const WORKERS_HINT = `a whole number of workers from 1 to ${MAX_WORKERS}, for example --workers 4`;

/** A listener of the primary's (Prometheus endpoint, dashboard): a port (on 127.0.0.1) or host:port. */
function parseListenAddress(value: string, option: string, what: string): { host: string; port: number } {
  const match = /^(?:\[?([^\]\s]*?)\]?:)?(\d+)$/.exec(value.trim());
  if (!match?.[2]) {
    throw invalidOption(option, value, `a port or host:port for ${what}`);
  }
  return { host: match[1] || "127.0.0.1", port: parsePort(option, match[2]) };
}

/** `redis+cluster://[auth@]host:port,host:port`: each seed must read as a host:port. */
function parseClusterBrokerUrl(value: string, option: string, expected: string): string {
  const match = /^rediss?\+cluster:\/\/(?:([^@/]*)@)?([^/]+)$/.exec(value.trim());
  const seeds = match?.[2]?.split(",") ?? [];
  for (const seed of seeds) {
    let url: URL | undefined;
    try {
      url = new URL(`redis://${seed.trim()}`);
    } catch {}
    if (!url || url.hostname === "" || url.pathname !== "") throw invalidOption(option, value, expected);
  }
  if (seeds.length === 0) throw invalidOption(option, value, expected);
  return value.trim();
}

/** A Redis URL as ioredis takes it; checked here so a typo is exit 2 before anything starts. */
function parseBrokerUrl(value: string, option: string): string {
  const expected =
    "a Redis URL, redis://host:port[/db] or rediss://, or a Redis Cluster's redis+cluster://host:port,host:port, for example --broker redis://127.0.0.1:6379";
  if (/^rediss?\+cluster:/.test(value.trim())) return parseClusterBrokerUrl(value, option, expected);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw invalidOption(option, value, expected);
  }
  if ((url.protocol !== "redis:" && url.protocol !== "rediss:") || url.hostname === "") {
    throw invalidOption(option, value, expected);
  }
  if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d+$/.test(url.pathname)) {
    throw invalidOption(option, value, `${expected} (the path is a database number)`);
  }
  return value.trim();
}

export const SETTINGS = {
  config: setting({
    flags: "--config <file>",
    help: 'read options from this JSON file, keyed by long option name (`{"workers": 4, "haproxy": true}`); options given on the command line win; `wsfleet reload` and SIGHUP re-read it ([operating](operating.md))',
    defaultText: "none",
    commands: RUN,
    parse: (value, option) =>
      parseNonEmpty(option, value, "the path of a JSON file of options, for example --config /etc/wsfleet/fleet.json"),
  }),
  workers: setting({
    flags: "-w, --workers <n>",
    help: `how many workers (1–${MAX_WORKERS})`,
    defaultText: "`WEB_CONCURRENCY`, else the number of CPUs",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => parseInteger(option, value, 1, MAX_WORKERS, WORKERS_HINT),
  }),
  basePort: setting({
    flags: "-p, --base-port <port>",
    help: "port of worker 0; worker _i_ listens on base-port + _i_",
    default: "8000",
    commands: RUN_AND_CONFIG,
    parse: (value, option) =>
      parseInteger(option, value, 1, MAX_PORT, `a port from 1 to ${MAX_PORT}, for example --base-port 8000`),
  }),
  host: setting({
    flags: "-H, --host <host>",
    help: "address the built-in workers listen on, and where `--exec` workers are probed",
    default: "localhost",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => {
      const host = value.trim();
      if (host === "" || /\s/.test(host)) {
        throw invalidOption(option, value, "a host name or address, for example --host localhost or --host 0.0.0.0");
      }
      return host;
    },
  }),
  name: setting({
    flags: "-n, --name <name>",
    help: "program name: workers are `<name>_00`, `<name>_01`, …",
    default: "websockets-test",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => {
      if (NAME_PATTERN.test(value)) return value;
      throw invalidOption(
        option,
        value,
        "a program name of letters, digits, '.', '_' and '-' that starts with a letter or digit, for example --name websockets-test",
      );
    },
  }),
  exec: setting({
    flags: "-e, --exec <command>",
    help: "run this command in each slot instead (through `/bin/sh`)",
    defaultText: "built-in echo",
    commands: RUN,
    parse: (value, option) =>
      parseNonEmpty(option, value, 'a command to run in each slot, for example --exec "python3 app.py"'),
  }),
  startSecs: setting({
    flags: "--start-secs <s>",
    help: "seconds a worker must stay up, listening, to count as started (Supervisor's `startsecs`)",
    default: "1",
    commands: RUN,
    parse: (value, option) =>
      parseSeconds(
        option,
        value,
        0,
        "seconds a worker must stay up to count as started, 0 or more, for example --start-secs 1",
      ),
  }),
  startRetries: setting({
    flags: "--start-retries <n>",
    help: "failed starts in a row before FATAL (Supervisor's `startretries`)",
    default: "3",
    commands: RUN,
    parse: (value, option) =>
      parseInteger(
        option,
        value,
        0,
        1000,
        "how many failed starts to retry before FATAL, from 0 to 1000, for example --start-retries 3",
      ),
  }),
  stopTimeout: setting({
    flags: "--stop-timeout <s>",
    help: "seconds a stopping worker gets before SIGKILL (Supervisor's `stopwaitsecs`)",
    default: "10",
    commands: RUN,
    parse: (value, option) =>
      parseSeconds(
        option,
        value,
        0.1,
        "seconds to wait for a worker to stop before SIGKILL, at least 0.1, for example --stop-timeout 10",
      ),
  }),
  logFormat: setting({
    flags: "--log-format <f>",
    help: "`text` for people, `json` (one object a line on stdout) for machines",
    default: "text",
    commands: RUN,
    parse: (value, option) => parseChoice(option, value, ["text", "json"] as const, "text or json"),
  }),
  runtimeDir: setting({
    flags: "--runtime-dir <dir>",
    help: "where the primary's private runtime directory (`wsfleet-<pid>-XXXXXX`: pid, control socket, HAProxy's config) goes; systemd's `RuntimeDirectory=`, for example `/run/wsfleet`; `status`, `reload` and the other commands look there",
    defaultText: "`$TMPDIR`, else `/tmp`",
    commands: ["run", "systemd-unit", "config", "reload", "upgrade", "status", "scale", "restart", "stop", "logs"],
    parse: (value, option) =>
      parseNonEmpty(option, value, "a directory for the runtime directory, for example --runtime-dir /run/wsfleet"),
  }),
  drainTimeout: drainSeconds(
    "--drain-timeout <s>",
    "seconds a draining built-in worker keeps open connections before closing them (1012/1001); passed as `WSFLEET_DRAIN_TIMEOUT_MS`",
    CONNECTION_DEFAULTS.drainTimeoutMs,
    "seconds a draining worker keeps its connections open before closing them, 0 or more, for example --drain-timeout 1",
  ),
  drainSpread: drainSeconds(
    "--drain-spread <s>",
    "seconds over which a draining built-in worker closes its connections, evenly, after `--drain-timeout`, so clients reconnect at a steady rate; 0 = all at once; passed as `WSFLEET_DRAIN_SPREAD_MS`",
    CONNECTION_DEFAULTS.drainSpreadMs,
    "seconds over which a draining worker spreads the closing of its connections, 0 or more, for example --drain-spread 2",
  ),
  sharedPort: setting({
    flags: "--shared-port <port>",
    help: "all workers listen on this one port with `SO_REUSEPORT` ([shared-port mode](apps.md#shared-port-mode))",
    defaultText: "off",
    commands: RUN,
    parse: (value, option) =>
      parseInteger(option, value, 1, MAX_PORT, "the one port all workers share, for example --shared-port 8080"),
  }),
  app: setting({
    flags: "--app <module>",
    help: "run your [WsfleetApp](apps.md#your-own-handler---app) in every built-in worker",
    defaultText: "built-in echo",
    commands: RUN,
    parse: (value, option) => parseNonEmpty(option, value, "a path to a module, for example --app ./handler.js"),
  }),
  broker: setting({
    flags: "--broker <url>",
    help: "`redis://[:password@]host:port[/db]` (or `rediss://`), or a Redis Cluster's `redis+cluster://[:password@]host:port,host:port` (sharded pub/sub): `fleet.publish` also reaches every fleet of the same `--name` on this Redis ([fleet-wide publish](publish.md))",
    defaultText: "off: the workers of this fleet only",
    commands: RUN,
    parse: parseBrokerUrl,
  }),
  history: setting({
    flags: "--history <n>",
    help: "keep the last _n_ messages of every topic, give each publish a per-topic offset, and let `fleet.subscribe(ws, topic, since)` recover what a reconnecting client missed ([recovery](recovery.md)); 0 = off",
    default: "0",
    commands: RUN,
    parse: (value, option) =>
      parseInteger(
        option,
        value,
        0,
        1_000_000,
        "how many messages of each topic to keep, from 0 (off) to 1000000, for example --history 1000",
      ),
  }),
  historyTtl: setting({
    flags: "--history-ttl <s>",
    help: "a topic with no subscriber and no publish for this long loses its history (and gets a new epoch) ([recovery](recovery.md))",
    default: "300",
    commands: RUN,
    parse: (value, option) =>
      parseSeconds(
        option,
        value,
        1,
        "seconds an idle topic keeps its history, at least 1, for example --history-ttl 300",
      ),
  }),
  maxPayload: setting({
    flags: "--max-payload <bytes>",
    help: "largest message accepted (python `websockets`' `max_size`); larger ones close with 1009; `KiB`/`MiB` allowed",
    default: bytesText(CONNECTION_DEFAULTS.maxPayloadBytes),
    commands: RUN,
    parse: (value, option) =>
      parseBytes(option, value, 1, "a message size limit in bytes, or with KiB/MiB, for example --max-payload 1MiB"),
  }),
  idleTimeout: setting({
    flags: "--idle-timeout <s>",
    help: "a silent connection gets a ping at half of this and is closed at the full time without an answer; 0 = off",
    default: String(CONNECTION_DEFAULTS.idleTimeoutSecs),
    commands: RUN,
    parse: (value, option) => {
      const secs = parseInteger(
        option,
        value,
        0,
        960,
        "seconds of silence before a connection is closed (a ping goes out at half of it), 0 to disable, at most 960, for example --idle-timeout 40",
      );
      if (secs > 0 && secs < 8) {
        throw invalidOption(
          option,
          value,
          "0 (off) or at least 8 seconds: uWebSockets.js counts timeouts in 4 s steps",
        );
      }
      return secs;
    },
  }),
  maxBackpressure: setting({
    flags: "--max-backpressure <bytes>",
    help: "bytes queued for a slow reader before it is closed",
    default: bytesText(CONNECTION_DEFAULTS.maxBackpressureBytes),
    commands: RUN,
    parse: (value, option) =>
      parseBytes(
        option,
        value,
        1,
        "bytes a slow reader may have queued before it is closed, or with KiB/MiB, for example --max-backpressure 64KiB",
      ),
  }),
  compression: setting({
    flags: "--compression <mode>",
    help: "permessage-deflate: `off`, `shared` or `dedicated`",
    default: CONNECTION_DEFAULTS.compression,
    commands: RUN,
    parse: (value, option) =>
      parseChoice(
        option,
        value,
        ["off", "shared", "dedicated"] as const,
        "off, shared or dedicated (permessage-deflate)",
      ),
  }),
  trustProxy: setting({
    isSwitch: true,
    flags: "--trust-proxy",
    help: "take the client address from `X-Forwarded-For` (PROXY protocol v2 is always understood)",
    defaultText: "off",
    commands: RUN,
  }),
  allowedOrigins: setting({
    flags: "--allowed-origins <list>",
    help: "web pages that may connect, comma-separated (`https://app.example.com`, `*.example.com`): another `Origin` gets 403 ([security](SECURITY.md))",
    defaultText: "any",
    commands: RUN,
    parse: (value, option) => {
      try {
        return parseOriginList(value).length > 0 ? value.split(",").map((entry) => entry.trim()) : [];
      } catch (error) {
        throw invalidOption(
          option,
          value,
          `origins as a browser sends them, comma-separated, without a path (${(error as Error).message}), for example --allowed-origins https://app.example.com,*.example.com`,
        );
      }
    },
  }),
  requireOrigin: setting({
    isSwitch: true,
    flags: "--require-origin",
    help: "refuse (403) a handshake without an `Origin` header too, not only a foreign one",
    defaultText: "off: clients that send no `Origin` (not browsers) pass",
    commands: RUN,
  }),
  maxConnections: setting({
    flags: "--max-connections <n>",
    help: "connections each built-in worker holds; beyond, 503 with `Retry-After` and `/healthz` says full",
    defaultText: "no limit",
    commands: RUN,
    parse: (value, option) =>
      parseInteger(
        option,
        value,
        1,
        2 ** 31 - 1,
        "a whole number of connections per worker, at least 1 (leave it out for no limit), for example --max-connections 10000",
      ),
  }),
  maxConnsPerIp: setting({
    flags: "--max-conns-per-ip <n>",
    help: "open connections one client address may hold across the fleet; beyond, 429 (HAProxy's stick table with `--haproxy`)",
    defaultText: "no limit",
    commands: RUN_AND_CONFIG,
    parse: (value, option) =>
      parseInteger(
        option,
        value,
        1,
        1_000_000,
        "a whole number of connections per client address, at least 1 (leave it out for no limit), for example --max-conns-per-ip 100",
      ),
  }),
  handshakeRate: setting({
    flags: "--handshake-rate <n/s>",
    help: "handshakes one client address may start per second across the fleet; beyond, 429 with `Retry-After`",
    defaultText: "no limit",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => {
      const hint =
        "a whole number of handshakes per second per client address, at least 1 (leave it out for no limit), for example --handshake-rate 20 or 20/s";
      const perSecond = /^\s*(\d+)\s*(?:\/\s*s)?\s*$/.exec(value)?.[1];
      if (perSecond === undefined) throw invalidOption(option, value, hint);
      try {
        return parseInteger(option, perSecond, 1, 1_000_000, hint);
      } catch {
        throw invalidOption(option, value, hint);
      }
    },
  }),
  metrics: setting({
    flags: "--metrics <[host:]port>",
    help: "serve Prometheus metrics of every worker from the primary (host defaults to 127.0.0.1)",
    defaultText: "off",
    commands: RUN,
    parse: (value, option) => parseListenAddress(value, option, "the Prometheus endpoint, for example --metrics 9100"),
  }),
  dashboard: setting({
    flags: "--dashboard <[host:]port>",
    help: "serve the live [dashboard](metrics.md#dashboard---dashboard) (host defaults to 127.0.0.1; may be the `--metrics` port)",
    defaultText: "off",
    commands: RUN,
    parse: (value, option) => parseListenAddress(value, option, "the dashboard, for example --dashboard 9200"),
  }),
  dashboardToken: setting({
    flags: "--dashboard-token <token>",
    help: "the token the dashboard (and a shared `/metrics`) asks for; required when it listens beyond loopback",
    defaultText: "none",
    commands: RUN,
    parse: (value, option) => {
      if (/^[\x21-\x7e]{16,}$/.test(value)) return value;
      throw invalidOption(
        option,
        value.length > 0 ? "(hidden)" : value,
        "at least 16 printable characters without spaces, for example --dashboard-token $(openssl rand -hex 16)",
      );
    },
  }),
  haproxy: setting({
    isSwitch: true,
    flags: "--haproxy",
    help: "run HAProxy in front of the workers, supervised, stopped last ([HAProxy parity mode](haproxy.md))",
    defaultText: "off",
    commands: RUN,
  }),
  haproxyBin: setting({
    flags: "--haproxy-bin <path>",
    help: "the haproxy executable",
    defaultText: "`haproxy` on PATH",
    commands: RUN,
    parse: (value, option) =>
      parseNonEmpty(option, value, "the haproxy executable, for example --haproxy-bin /usr/sbin/haproxy"),
  }),
  frontendHost: setting({
    flags: "--frontend-host <host>",
    help: "address HAProxy's frontend binds",
    default: "localhost",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => parseHost(option, value, "localhost"),
  }),
  frontendPort: setting({
    flags: "--frontend-port <port>",
    help: "port of HAProxy's frontend",
    default: "8080",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => parsePort(option, value),
  }),
  haproxyStats: setting({
    flags: "--haproxy-stats <h:p>",
    help: "HAProxy's stats page on `/` and its Prometheus exporter on `/metrics`, e.g. `127.0.0.1:8404`",
    defaultText: "none",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => parseHostPort(option, value, "127.0.0.1:8404"),
  }),
  tunnelTimeout: setting({
    flags: "--tunnel-timeout <s>",
    help: "seconds an idle WebSocket may stay open through HAProxy (`timeout tunnel`)",
    default: "3600",
    commands: RUN_AND_CONFIG,
    parse: (value, option) =>
      parseSeconds(
        option,
        value,
        1,
        "seconds an idle WebSocket may stay open through HAProxy, from 1 to 86400, for example --tunnel-timeout 3600",
      ),
  }),
  tlsCert: setting({
    flags: "--tls-cert <file>",
    help: "serve `wss://`: the certificate (PEM, chain after it allowed, the key too if there is no `--tls-key`); HAProxy terminates TLS with `--haproxy`, the workers without ([TLS](tls.md))",
    defaultText: "off (plain `ws://`)",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => parseNonEmpty(option, value, "a PEM certificate file, for example --tls-cert cert.pem"),
  }),
  tlsKey: setting({
    flags: "--tls-key <file>",
    help: "the private key (PEM, unencrypted) of `--tls-cert`",
    defaultText: "the key in the `--tls-cert` file",
    commands: RUN_AND_CONFIG,
    parse: (value, option) => parseNonEmpty(option, value, "a PEM private key file, for example --tls-key key.pem"),
  }),
  serverHosts: setting({
    flags: "--server-hosts <list>",
    help: "fleets on several hosts, each host:first-last, comma-separated (instead of --host/--base-port/--workers)",
    commands: ["haproxy-config"],
  }),
  statsSocket: setting({
    flags: "--stats-socket <path>",
    help: "add a runtime API socket (stats socket <path> mode 600 level admin)",
    commands: ["haproxy-config"],
  }),
  seed: setting({
    isSwitch: true,
    flags: "--seed",
    help: "print the guide's haproxy.cfg exactly, for comparison",
    commands: ["haproxy-config"],
  }),
  pid: setting({
    flags: "--pid <pid>",
    help: "the primary's pid (default: the one running primary of this user)",
    commands: ["reload", "reload-cert", "upgrade", "status", "scale", "restart", "stop", "logs"],
  }),
  json: setting({
    isSwitch: true,
    flags: "--json",
    help: "print it as JSON",
    commands: ["status", "config"],
  }),
  follow: setting({
    isSwitch: true,
    flags: "-f, --follow",
    help: "keep printing new lines as they come (like tail -f)",
    commands: ["logs"],
  }),
  lines: setting({
    flags: "--lines <n>",
    help: "how many of the last lines to show first (default: 50)",
    commands: ["logs"],
  }),
  user: setting({
    flags: "--user <name>",
    help: "the unit's `User=`: the account the fleet runs as (default: root, as systemd does without `User=`)",
    commands: ["systemd-unit"],
    parse: (value, option) => {
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(value)) return value;
      throw invalidOption(option, value, "a user name for the unit's User=, for example --user www-data");
    },
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;

/** What the command line gives: strings (switches: true), or undefined when the option was not passed. */
export type RawOptions = { [K in SettingName]?: (typeof SETTINGS)[K] extends { isSwitch: true } ? boolean : string };

/** The parsed type of a setting's value. */
export type SettingValue<K extends SettingName> = (typeof SETTINGS)[K] extends { parse: (...args: never[]) => infer T }
  ? T
  : string;

/** The long flag of a setting: "--base-port". */
export function longFlag(entry: Setting): string {
  return /--[a-z-]+/.exec(entry.flags)?.[0] ?? entry.flags;
}

/** The settings a command takes, in table order. */
export function settingsFor(command: CommandName): [SettingName, Setting][] {
  return (Object.entries(SETTINGS) as [SettingName, Setting][]).filter(([, entry]) => entry.commands.includes(command));
}

/** How the default reads to a person: "8000", "off". */
export function defaultText(entry: Setting): string | undefined {
  return entry.defaultText ?? (entry.default === undefined ? undefined : `\`${entry.default}\``);
}

/** docs/options.md's table for the main command, made from this table (a test keeps the page in step). */
export function renderOptionsTable(): string {
  const rows = settingsFor("run").map(
    ([, entry]) => `| \`${entry.flags}\` | ${defaultText(entry) ?? ""} | ${entry.help} |`,
  );
  return ["| option | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

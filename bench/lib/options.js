/** The load generator's command line, validated once into a frozen settings object. */
import { parseArgs } from "node:util";

export const USAGE = `Usage: wsfleet-bench [options] ws[s]://host:port/path

  -c, --connections <n>   connections (default 10)
  -d, --duration <s>      measured seconds (default 10)
  -w, --warmup <s>        seconds of load before measuring (default 1)
  -m, --message-size <b>  message size in bytes; 4k, 64k accepted (default 32)
      --binary            binary messages (default: text)
  -p, --pipelining <n>    messages in flight per connection (default 1)
      --rate <n>          open loop: n msgs/s in total, latency corrected for coordinated omission
      --connect           a new connection per exchange (handshakes/s); -c loops at once
      --idle <n>          hold n idle connections for the duration and report memory
      --procs <k>         spread the load over k processes (default 1)
      --client <c>        node (default) or c: bench/cload/, compiled with cc on first use (echo, --rate and
                          --connect; wss:// when OpenSSL's headers, libssl-dev, were there to build it);
                          node-floor: one read and one write per echo and nothing else, Node's own floor
      --pids <list>       comma-separated pids whose CPU and RSS are sampled from /proc
      --json              print the result as JSON on stdout, no table
  -h, --help`;

const CLIENTS = ["node", "c", "node-floor"];

export class UsageError extends Error {}

function positiveInt(name, value, { min = 1, max = 1e9 } = {}) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`invalid value for ${name}: "${value}"; expected a whole number from ${min} to ${max}`);
  }
  return n;
}

function seconds(name, value) {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 3600) {
    throw new UsageError(
      `invalid value for ${name}: "${value}"; expected seconds from 0 to 3600, for example 10 or 0.5`,
    );
  }
  return n;
}

function parseSize(value) {
  const match = /^(\d+)([kKmM]?)$/.exec(String(value));
  if (!match)
    throw new UsageError(`invalid value for --message-size: "${value}"; expected bytes, for example 32, 4k or 64k`);
  const bytes = Number(match[1]) * (match[2] === "" ? 1 : /k/i.test(match[2]) ? 1024 : 1024 * 1024);
  if (bytes > 16 * 1024 * 1024) throw new UsageError(`invalid value for --message-size: "${value}"; at most 16m`);
  return bytes;
}

/** argv (without node and script) → frozen settings; throws UsageError with the option, the value and the fix. */
export function parseLoadOptions(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      connections: { type: "string", short: "c", default: "10" },
      duration: { type: "string", short: "d", default: "10" },
      warmup: { type: "string", short: "w", default: "1" },
      "message-size": { type: "string", short: "m", default: "32" },
      binary: { type: "boolean", default: false },
      pipelining: { type: "string", short: "p", default: "1" },
      rate: { type: "string" },
      connect: { type: "boolean", default: false },
      idle: { type: "string" },
      procs: { type: "string", default: "1" },
      client: { type: "string", default: "node" },
      pids: { type: "string", default: "" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return Object.freeze({ help: true });
  if (positionals.length !== 1) throw new UsageError(`expected one target URL, got ${positionals.length}\n\n${USAGE}`);
  let url;
  try {
    url = new URL(positionals[0]);
  } catch {
    throw new UsageError(`invalid target URL: "${positionals[0]}"; expected ws://host:port/path`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new UsageError(`invalid target URL: "${positionals[0]}"; only ws:// and wss:// are supported`);
  }
  const pids = values.pids === "" ? [] : values.pids.split(",").map((p) => positiveInt("--pids", p, { max: 4194304 }));
  const modes = [values.connect, values.idle !== undefined, values.rate !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError("--connect, --idle and --rate exclude each other; choose one");
  if (!CLIENTS.includes(values.client))
    throw new UsageError(`invalid value for --client: "${values.client}"; expected ${CLIENTS.join(", ")}`);
  if (values.client === "node-floor" && (modes > 0 || values.procs !== "1"))
    throw new UsageError(
      "--client node-floor measures the closed loop in one process only (no --rate, --connect, --idle, --procs)",
    );
  if (values.client === "c" && (values.idle !== undefined || values.procs !== "1"))
    throw new UsageError(
      "--client c runs echo, --rate and --connect in one process; use the node client for --idle, --procs",
    );
  if (values.client === "c" && values.connect && parseSize(values["message-size"]) > 4000)
    throw new UsageError(
      `invalid value for --message-size: "${values["message-size"]}"; --client c --connect sends at most 4000 bytes per connection`,
    );
  return Object.freeze({
    help: false,
    host: url.hostname,
    port: Number(url.port || (url.protocol === "wss:" ? 443 : 80)),
    tls: url.protocol === "wss:",
    path: `${url.pathname}${url.search}`,
    connections: positiveInt("--connections", values.connections, { max: 100000 }),
    durationMs: Math.round(seconds("--duration", values.duration) * 1000),
    warmupMs: Math.round(seconds("--warmup", values.warmup) * 1000),
    messageBytes: parseSize(values["message-size"]),
    binary: values.binary,
    depth: positiveInt("--pipelining", values.pipelining, { max: 10000 }),
    ratePerSecond: values.rate === undefined ? 0 : positiveInt("--rate", values.rate, { max: 1e8 }),
    mode: values.connect ? "connect" : values.idle !== undefined ? "idle" : "echo",
    idle: values.idle === undefined ? 0 : positiveInt("--idle", values.idle, { max: 1000000 }),
    procs: positiveInt("--procs", values.procs, { max: 256 }),
    client: values.client,
    pids,
    json: values.json,
  });
}

/** The share of connections (or idle connections, or rate) that load process `index` of `count` takes. */
export function shareOf(total, index, count) {
  return Math.floor(total / count) + (index < total % count ? 1 : 0);
}

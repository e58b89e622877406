import type { Address, AddressLimitsModel, HaproxyModel, HealthCheckModel } from "./model.js";

/** HAProxy's time format: the largest unit that divides evenly (`10s`, `1h`), else milliseconds. */
export function formatDuration(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatAddress(address: Address): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** A file name in haproxy.cfg: double-quoted when it has spaces or quotes (HAProxy 2.x quoting). */
function quotePath(file: string): string {
  return /[\s"'#\\]/.test(file) ? `"${file.replace(/(["\\$])/g, "\\$1")}"` : file;
}

/** The check settings of every server; dynamic servers (`add server`) do not inherit default-server, so they get these. */
export function serverCheckArguments(check: HealthCheckModel): string {
  return `inter ${formatDuration(check.intervalMs)} fall ${check.fall} rise ${check.rise} observe layer4 error-limit 1 on-error mark-down`;
}

/** How many client addresses the stick table holds (HAProxy evicts the oldest beyond), and how long one is kept. */
const STICK_TABLE_SIZE = "100k";
const STICK_TABLE_EXPIRE = "30s";

/**
 * The frontend lines of --max-conns-per-ip / --handshake-rate: a stick table of client addresses (ipv6 holds IPv4
 * too), tracked when each handshake's request is read, and a 429 once an address holds more connections or sent more
 * handshakes this second. Tracked per request, not per connection: a burst of connections accepted together would
 * otherwise all see the burst's count and all be refused.
 */
export function addressLimitLines(limits: AddressLimitsModel): string[] {
  const { maxConnsPerIp, handshakeRatePerSec } = limits;
  return [
    `stick-table type ipv6 size ${STICK_TABLE_SIZE} expire ${STICK_TABLE_EXPIRE} store conn_cur,http_req_rate(1s)`,
    "http-request track-sc0 src",
    // Both count this handshake too: the (n+1)th is refused, the workers never see it.
    ...(handshakeRatePerSec === undefined
      ? []
      : [
          `http-request return status 429 content-type text/plain string "too many handshakes from this address" hdr Retry-After 1 if { sc_http_req_rate(0) gt ${handshakeRatePerSec} }`,
        ]),
    ...(maxConnsPerIp === undefined
      ? []
      : [
          `http-request return status 429 content-type text/plain string "too many connections from this address" if { sc_conn_cur(0) gt ${maxConnsPerIp} }`,
        ]),
  ];
}

/** Renders a model as haproxy.cfg text: pure, so every variant is unit-tested and checked with `haproxy -c`. */
export function renderConfig(model: HaproxyModel): string {
  const lines: string[] = [];
  const section = (header: string, settings: (string | false | undefined)[]) => {
    if (lines.length > 0) lines.push("");
    lines.push(header);
    for (const setting of settings) if (setting) lines.push(`    ${setting}`);
  };
  const { timeouts, frontend, backend, stats } = model;
  const check = backend.healthCheck;
  const httpCheck = check?.path !== undefined ? check : undefined;

  if (model.runtimeSocket !== undefined) {
    section("global", [
      // The runtime API: wsfleet drains and readies servers through it; 600 + admin: only this user may use it.
      // expose-fd listeners: `wsfleet upgrade`'s new HAProxy takes the listening sockets over it (-x), none is closed.
      `stats socket ${model.runtimeSocket} mode 600 level admin${model.exposeListeners ? " expose-fd listeners" : ""}`,
    ]);
  }
  section("defaults", [
    // The guide: HTTP mode, so HAProxy sees the Upgrade handshake and can health-check and retry it.
    "mode http",
    // The guide: a worker that does not accept within 10 s is dead.
    `timeout connect ${formatDuration(timeouts.connectMs)}`,
    // The guide: bounds a handshake that never completes; for upgraded connections `timeout tunnel` takes over.
    `timeout client ${formatDuration(timeouts.clientMs)}`,
    `timeout server ${formatDuration(timeouts.serverMs)}`,
    // WebSockets: without it an idle upgraded connection is cut at `timeout client` (30 s), the client sees 1006.
    timeouts.tunnelMs !== undefined && `timeout tunnel ${formatDuration(timeouts.tunnelMs)}`,
    // WebSockets: a client that half-closed does not hold its connection for the whole tunnel timeout.
    timeouts.clientFinMs !== undefined && `timeout client-fin ${formatDuration(timeouts.clientFinMs)}`,
    // A refused connection (worker restarting) or a 503 handshake (worker draining) is retried...
    model.retries !== undefined && `retries ${model.retries}`,
    // ...on another server each time, so a client never sees the failure.
    model.retries !== undefined && "option redispatch 1",
    // Layer-7 retries: the 503 of a draining worker, not only connection failures (a GET upgrade has no body).
    model.retries !== undefined && "retry-on conn-failure empty-response response-timeout 503",
  ]);
  section(`frontend ${frontend.name}`, [
    // wss://: TLS ends here; alpn http/1.1 because a WebSocket upgrade is an HTTP/1.1 request (RFC 6455 §4.1).
    frontend.tlsCrtFile === undefined
      ? `bind ${formatAddress(frontend.bind)}`
      : `bind ${formatAddress(frontend.bind)} ssl crt ${quotePath(frontend.tlsCrtFile)} alpn http/1.1`,
    // Connections beyond this wait in the kernel's backlog instead of exhausting file descriptors.
    frontend.maxconn !== undefined && `maxconn ${frontend.maxconn}`,
    ...(frontend.addressLimits ? addressLimitLines(frontend.addressLimits) : []),
    `default_backend ${backend.name}`,
  ]);
  section(`backend ${backend.name}`, [
    // The guide: WebSocket connections last, so count open connections, not requests.
    "balance leastconn",
    // Health checks: a dead or draining worker (503) leaves the rotation.
    httpCheck && "option httpchk",
    // uWebSockets.js answers HTTP/1.0 with 505, and plain `option httpchk GET` sends 1.0: send 1.1 with a Host.
    httpCheck && `http-check send meth GET uri ${httpCheck.path} ver HTTP/1.1 hdr Host ${httpCheck.hostHeader}`,
    // Every second; DOWN after `fall` failures (about 2 s after a crash), UP after `rise` successes.
    // observe layer4 + on-error mark-down: a refused connection takes the server out at once, before the checks do
    // (a whole host gone would otherwise use up the retries on its dead servers); the checks bring it back.
    check && `default-server ${serverCheckArguments(check)}`,
    ...backend.servers.map(
      (server) => `server ${server.name} ${formatAddress(server.address)}${check ? " check" : ""}`,
    ),
  ]);
  if (stats) {
    section("frontend stats", [
      `bind ${formatAddress(stats)}`,
      // HAProxy's built-in Prometheus exporter (compiled into Debian's 2.6): scrape /metrics.
      "http-request use-service prometheus-exporter if { path /metrics }",
      // The human stats page on every other path.
      "stats enable",
      "stats uri /",
      "stats refresh 5s",
    ]);
  }
  return `${lines.join("\n")}\n`;
}

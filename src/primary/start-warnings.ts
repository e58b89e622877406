/**
 * What the primary warns about at start, decided from the validated options and the open-files limit. Pure: the
 * caller reads the limit and logs the warnings.
 */
import type { Options } from "../config/validate.js";
import { DEFAULT_MAXCONN, haproxyConnectionsFor } from "../haproxy/model.js";

export interface StartWarning {
  readonly event: string;
  readonly message: string;
}

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", "*"]);

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** Every address the fleet will listen on that is a wildcard (reachable from other machines), with its option. */
function wildcardBinds(options: Options): string[] {
  const binds: [string, string | undefined][] = [
    ["--host", options.fleet.host],
    ["--metrics", options.metrics?.host],
    ["--frontend-host", options.haproxy?.frontend.host],
    ["--haproxy-stats", options.haproxy?.stats?.host],
  ];
  return binds.filter(([, host]) => host !== undefined && WILDCARDS.has(host)).map(([option]) => option);
}

/** `openFilesLimit`: the soft RLIMIT_NOFILE HAProxy will inherit, or undefined when it could not be read. */
export function startWarnings(options: Options, openFilesLimit: number | undefined): StartWarning[] {
  const warnings: StartWarning[] = [];
  const { drainTimeoutMs, drainSpreadMs } = options.fleet.connections;
  const { stopTimeoutMs } = options.supervision;
  if (options.fleet.worker.kind === "builtin" && drainTimeoutMs + drainSpreadMs > stopTimeoutMs) {
    warnings.push({
      event: "drain-too-long",
      message: `--drain-timeout ${seconds(drainTimeoutMs)} + --drain-spread ${seconds(drainSpreadMs)} is longer than --stop-timeout ${seconds(stopTimeoutMs)}: a stopping worker is SIGKILLed before it has closed every connection (those clients see 1006); raise --stop-timeout or shorten the drain`,
    });
  }
  for (const option of wildcardBinds(options)) {
    warnings.push({
      event: "wildcard-bind",
      message: `${option} listens on every interface: other machines can reach it; give a loopback or private address unless that is what you want`,
    });
  }
  if (options.haproxy && openFilesLimit !== undefined && haproxyConnectionsFor(openFilesLimit) < DEFAULT_MAXCONN) {
    warnings.push({
      event: "open-files-limit",
      message: `the open-files limit (ulimit -n) is ${openFilesLimit}: HAProxy can hold only about ${haproxyConnectionsFor(openFilesLimit)} connections, fewer than its maxconn ${DEFAULT_MAXCONN}; raise it to ${2 * DEFAULT_MAXCONN + 28} or more (ulimit -n, or LimitNOFILE= in a systemd unit) before starting wsfleet`,
    });
  }
  return warnings;
}

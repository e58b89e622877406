import { invalidOption } from "../errors.js";
import { parseHost, parseHostPort, parsePort, parseSeconds } from "../option-values.js";
import { type Address, DEFAULT_TUNNEL_TIMEOUT_MS, GUIDE_FRONTEND } from "./model.js";

/** The HAProxy options as the command line gives them. */
export interface RawHaproxyOptions {
  haproxy?: boolean;
  haproxyBin?: string;
  frontendHost?: string;
  frontendPort?: string;
  haproxyStats?: string;
  tunnelTimeout?: string;
}

/** The frontend part, shared by `--haproxy` and `wsfleet haproxy-config`. */
export interface FrontendOptions {
  readonly frontend: Address;
  readonly stats: Address | undefined;
  readonly tunnelTimeoutMs: number;
}

export interface HaproxyOptions extends FrontendOptions {
  /** The haproxy executable: a name looked up on PATH, or a path. */
  readonly bin: string;
}

export function validateFrontendOptions(raw: RawHaproxyOptions): FrontendOptions {
  const host = parseHost("--frontend-host", raw.frontendHost ?? GUIDE_FRONTEND.host, "localhost");
  const port = parsePort("--frontend-port", raw.frontendPort ?? String(GUIDE_FRONTEND.port));
  const stats =
    raw.haproxyStats === undefined ? undefined : parseHostPort("--haproxy-stats", raw.haproxyStats, "127.0.0.1:8404");
  if (stats && stats.port === port) {
    throw invalidOption("--haproxy-stats", raw.haproxyStats, `a port other than the frontend's ${port}`);
  }
  const tunnelSeconds = parseSeconds(
    "--tunnel-timeout",
    raw.tunnelTimeout ?? String(DEFAULT_TUNNEL_TIMEOUT_MS / 1000),
    1,
    "seconds an idle WebSocket may stay open through HAProxy, from 1 to 86400, for example --tunnel-timeout 3600",
  );
  return { frontend: { host, port }, stats, tunnelTimeoutMs: Math.round(tunnelSeconds * 1000) };
}

/** undefined without --haproxy; an HAProxy-only option without it is a mistake worth saying. */
export function validateHaproxyOptions(raw: RawHaproxyOptions): HaproxyOptions | undefined {
  if (!raw.haproxy) {
    const stray = (
      [
        ["--haproxy-bin", raw.haproxyBin],
        ["--frontend-host", raw.frontendHost],
        ["--frontend-port", raw.frontendPort],
        ["--haproxy-stats", raw.haproxyStats],
        ["--tunnel-timeout", raw.tunnelTimeout],
      ] as const
    ).find(([, value]) => value !== undefined);
    if (stray)
      throw invalidOption(stray[0], stray[1], `it together with --haproxy, which starts the HAProxy it configures`);
    return undefined;
  }
  const bin = (raw.haproxyBin ?? "haproxy").trim();
  if (bin === "")
    throw invalidOption(
      "--haproxy-bin",
      raw.haproxyBin,
      "the haproxy executable, for example --haproxy-bin /usr/sbin/haproxy",
    );
  return Object.freeze({ ...validateFrontendOptions(raw), bin });
}

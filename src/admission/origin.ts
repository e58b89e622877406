/**
 * `--allowed-origins`: which web pages may open a WebSocket to the fleet (RFC 6455 §10.2: the server checks Origin,
 * since a browser sends the visitor's cookies to any site's WebSocket). Pure: parsed once, matched per handshake.
 */

/** One allowed origin: an exact `scheme://host[:port]`, or a host pattern `*.example.com` with or without a scheme. */
export interface OriginRule {
  /** undefined: any scheme (`*.example.com`, `app.example.com`). */
  readonly scheme: string | undefined;
  /** The host and port as the Origin header carries them, lower-case; for a wildcard, the part after `*`. */
  readonly host: string;
  /** `*.example.com`: any subdomain of example.com (not example.com itself, as in Centrifugo and nginx). */
  readonly wildcard: boolean;
}

const RULE_PATTERN = /^(?:(https?):\/\/)?(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/;

/** One entry of the list; undefined when it is not an origin (a path, a bare `*`, a space). */
export function parseOriginRule(entry: string): OriginRule | undefined {
  const match = RULE_PATTERN.exec(entry.trim().toLowerCase());
  if (!match?.[3]) return undefined;
  const port = match[4] ?? "";
  if (port !== "" && Number(port.slice(1)) > 65535) return undefined;
  return Object.freeze({ scheme: match[1], host: `${match[3]}${port}`, wildcard: match[2] !== undefined });
}

/** The comma-separated list; throws a RangeError naming the first entry that is not an origin. */
export function parseOriginList(value: string): OriginRule[] {
  const entries = value.split(",").map((entry) => entry.trim());
  return entries.map((entry) => {
    const rule = parseOriginRule(entry);
    if (!rule) throw new RangeError(`${JSON.stringify(entry)} is not an origin`);
    return rule;
  });
}

/** Whether an Origin header's value (`https://app.example.com:8443`) is allowed by the rules. */
export function originAllowed(rules: readonly OriginRule[], origin: string): boolean {
  const separator = origin.indexOf("://");
  if (separator <= 0) return false;
  const scheme = origin.slice(0, separator).toLowerCase();
  const host = origin.slice(separator + 3).toLowerCase();
  for (const rule of rules) {
    if (rule.scheme !== undefined && rule.scheme !== scheme) continue;
    if (rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host) return true;
  }
  return false;
}

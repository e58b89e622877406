import { validateAddressLimits } from "../config/admission.js";
import { parseHost, parsePort } from "../config/parsers.js";
import type { RawOptions } from "../config/settings.js";
import {
  type OptionDefaults,
  validateFleetShape,
  validateFrontendOptions,
  validateTlsOptions,
} from "../config/validate.js";
import { invalidOption } from "../errors.js";
import { renderConfig } from "../haproxy/config.js";
import {
  type HaproxyModel,
  type ServerHost,
  seedModel,
  serversFor,
  websocketModel,
  workerAddress,
} from "../haproxy/model.js";
import { loadTls, resolveTlsFiles } from "../tls/files.js";

const SERVER_HOSTS_EXAMPLE = "--server-hosts 10.0.0.1:8000-8003,10.0.0.2:8000-8003";

/** `10.0.0.1:8000-8003,10.0.0.2:8000` → one entry a host, each with its port range. */
export function parseServerHosts(value: string): ServerHost[] {
  const entries = value.split(",").map((entry) => entry.trim());
  return entries.map((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^\s:,]+)):(\d+)(?:-(\d+))?$/.exec(entry);
    const host = match?.[1] ?? match?.[2];
    if (!match?.[3] || !host) {
      throw invalidOption(
        "--server-hosts",
        value,
        `host:first-last port ranges separated by commas, ${SERVER_HOSTS_EXAMPLE}`,
      );
    }
    const firstPort = parsePort("--server-hosts", match[3]);
    const lastPort = match[4] === undefined ? firstPort : parsePort("--server-hosts", match[4]);
    if (lastPort < firstPort || lastPort - firstPort >= 1024) {
      throw invalidOption(
        "--server-hosts",
        value,
        `in ${entry}, a first port not above the last one, at most 1024 ports, ${SERVER_HOSTS_EXAMPLE}`,
      );
    }
    return { host: parseHost("--server-hosts", host, SERVER_HOSTS_EXAMPLE), firstPort, lastPort };
  });
}

/** The model `wsfleet haproxy-config` prints: the guide's exactly with --seed, else the WebSocket-ready one. */
export function haproxyConfigModel(raw: RawOptions, defaults: OptionDefaults): HaproxyModel {
  if (raw.seed) return seedModel();
  const fleet = validateFleetShape(raw, defaults);
  let hosts: ServerHost[];
  if (raw.serverHosts !== undefined) {
    const clash = (["workers", "basePort", "host"] as const).find((key) => raw[key] !== undefined);
    if (clash) {
      throw invalidOption(
        "--server-hosts",
        raw.serverHosts,
        `either --server-hosts or --${clash === "basePort" ? "base-port" : clash}, not both: --server-hosts lists every host with its ports`,
      );
    }
    hosts = parseServerHosts(raw.serverHosts);
  } else {
    hosts = [{ host: fleet.host, firstPort: fleet.basePort, lastPort: fleet.basePort + fleet.workers - 1 }];
  }
  const statsSocket = raw.statsSocket?.trim();
  if (raw.statsSocket !== undefined && !statsSocket?.startsWith("/")) {
    throw invalidOption(
      "--stats-socket",
      raw.statsSocket,
      "an absolute path for HAProxy's runtime API socket, for example --stats-socket /run/haproxy/wsfleet.sock",
    );
  }
  const front = validateFrontendOptions(raw);
  const tls = validateTlsOptions(raw);
  // HAProxy reads the key from the crt file itself, or from `<crt>.key` beside it (ssl-load-extra-files' default).
  if (tls?.keyFile !== undefined && tls.keyFile !== tls.certFile && tls.keyFile !== `${tls.certFile}.key`) {
    throw invalidOption(
      "--tls-key",
      tls.keyFile,
      `the key where HAProxy finds it: inside the --tls-cert file (cat cert.pem key.pem > site.pem) or as ${tls.certFile}.key`,
    );
  }
  return websocketModel({
    servers: serversFor(
      fleet.name,
      hosts.map((entry) => ({ ...entry, host: workerAddress(entry.host) })),
    ),
    frontend: front.frontend,
    stats: front.stats,
    tunnelTimeoutMs: front.tunnelTimeoutMs,
    runtimeSocket: statsSocket,
    tlsCrtFile: tls?.certFile,
    addressLimits: validateAddressLimits(raw),
  });
}

/**
 * `wsfleet haproxy-config`: the config text to print. With --tls-cert the files are checked first (exit 2 naming the
 * option) and the config names the certificate by its absolute path; a near expiry is said on stderr.
 */
export async function haproxyConfigText(
  raw: RawOptions,
  defaults: OptionDefaults,
  cwd: string,
  warn: (line: string) => void,
): Promise<string> {
  const tls = validateTlsOptions(raw);
  if (tls === undefined) return renderConfig(haproxyConfigModel(raw, defaults));
  const files = resolveTlsFiles(tls, cwd);
  const material = await loadTls(files);
  for (const warning of material.warnings) warn(`wsfleet: warning: ${warning}`);
  return renderConfig(haproxyConfigModel({ ...raw, tlsCert: files.certFile, tlsKey: files.keyFile }, defaults));
}

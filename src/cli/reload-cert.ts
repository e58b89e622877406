import type { RawOptions } from "../config/settings.js";
import { type CertificateReloaded, CONTROL_REQUESTS } from "../protocol/control.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";

/**
 * `wsfleet reload-cert`: the primary re-reads its --tls-cert/--tls-key files, checks them, and serves them (HAProxy at
 * once for new handshakes; built-in workers through a rolling restart). A bad file is refused: exit 2, old one kept.
 */
export async function reloadCertificate(raw: RawOptions): Promise<string> {
  const primary = await controlledPrimary(raw);
  const reply = await controlRequest(primary, CONTROL_REQUESTS.reloadCertificate, { timeoutMs: 15_000 });
  const answer = JSON.parse(expectOk(reply, primary)) as CertificateReloaded;
  return `primary ${primary.pid}: ${answer.message}`;
}

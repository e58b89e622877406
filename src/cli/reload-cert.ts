import type { RawOptions } from "../config/settings.js";
import { askPrimary, controlledPrimary } from "./control-client.js";
import type { CertificateReloaded } from "./control-server.js";

/**
 * `wsfleet reload-cert`: the primary re-reads its --tls-cert/--tls-key files, checks them, and serves them (HAProxy at
 * once for new handshakes; built-in workers through a rolling restart). A bad file is refused: exit 2, old one kept.
 */
export async function reloadCertificate(raw: RawOptions): Promise<string> {
  const primary = await controlledPrimary(raw);
  const answer = await askPrimary<CertificateReloaded>(primary, "POST", "/reload-cert");
  return `primary ${primary.pid}: ${answer.message}`;
}

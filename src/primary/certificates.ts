import path from "node:path";
import type { TlsOptions } from "../config/validate.js";
import type { Logger } from "../log/logger.js";
import { loadTls, writeCombinedPem } from "../tls/files.js";
import type { TlsMaterial } from "../tls/pem.js";

/** The combined PEM in the runtime directory: what HAProxy's `crt` and the built-in workers read. */
const COMBINED_PEM = "tls.pem";

/** Where the served certificate goes next: the running HAProxy (runtime API), or nowhere live (workers re-read it). */
interface CertificateInstaller {
  replaceCertificate(pem: string): Promise<void>;
}

/**
 * The certificate a fleet serves: checked from the user's files at start, kept as one PEM (mode 0600) in the
 * runtime directory, and swapped on `wsfleet reload-cert` or SIGHUP only once the new files pass every check, so a
 * bad new certificate never replaces a good one.
 */
export class Certificates {
  private constructor(
    private readonly files: TlsOptions,
    readonly pemFile: string,
    private readonly logger: Logger,
    private current: TlsMaterial,
  ) {}

  /** Reads and checks the files (exit 2 on any problem) and writes the PEM the fleet will serve. */
  static async prepare(files: TlsOptions, runtimeDir: string, logger: Logger): Promise<Certificates> {
    const material = await loadTls(files);
    const certificates = new Certificates(files, path.join(runtimeDir, COMBINED_PEM), logger, material);
    await writeCombinedPem(certificates.pemFile, material);
    certificates.announce("tls-loaded", "serving");
    return certificates;
  }

  get serial(): string {
    return this.current.serial;
  }

  /**
   * Re-reads and checks the files; if they pass, hands the new PEM to `installer` (a running HAProxy) and then to the
   * file the workers start with. Throws, keeping the old certificate, when they do not.
   */
  async reload(installer: CertificateInstaller | undefined): Promise<TlsMaterial> {
    const material = await loadTls(this.files);
    await installer?.replaceCertificate(material.combinedPem);
    await writeCombinedPem(this.pemFile, material);
    const previous = this.current.serial;
    this.current = material;
    this.announce("tls-reloaded", `replaced serial ${previous}; now serving`);
    return material;
  }

  /** Logs which certificate is served: serial, subject and expiry, never the key. */
  private announce(event: string, verb: string): void {
    const { serial, subject, notAfter, warnings } = this.current;
    this.logger.event(
      "info",
      event,
      `tls: ${verb} certificate serial ${serial} (${subject}), valid until ${notAfter.toISOString()}, from ${this.files.certFile}`,
      { serial, notAfter: notAfter.toISOString(), certFile: this.files.certFile },
    );
    for (const warning of warnings) this.logger.event("warn", "tls-expiring", `tls: ${warning}`);
  }
}

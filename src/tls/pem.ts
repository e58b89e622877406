/**
 * What a certificate and key file hold, checked before anything serves them: PEM, a certificate, a key that belongs
 * to it, not expired. Pure: the texts and the time come in, node:crypto parses them; no file is read here.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { type WsfleetError, wsfleetError } from "../errors.js";

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;
const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

/** A TLS file that cannot be served: names the option, the file, what is wrong and the fix; exit 2. */
export function tlsProblem(option: string, file: string, problem: string): WsfleetError {
  return wsfleetError("tlsFileInvalid", option, file, problem);
}

export interface TlsSource {
  readonly certFile: string;
  readonly certText: string;
  /** undefined: the key is looked for in the certificate file. */
  readonly keyFile: string | undefined;
  readonly keyText: string | undefined;
}

/** A checked certificate and key: the PEM handed to HAProxy and the workers, and what the log may say of it. */
export interface TlsMaterial {
  /** Leaf, chain, then the key: HAProxy's `crt` format, and what uWebSockets.js reads as cert and key file. */
  readonly combinedPem: string;
  readonly serial: string;
  readonly subject: string;
  readonly notAfter: Date;
  /** Said in the log, never fatal: a certificate that expires within 14 days. */
  readonly warnings: readonly string[];
}

function parseKey(option: string, file: string, text: string): { pem: string; key: KeyObject } {
  const match = KEY_BLOCK.exec(text);
  if (!match) {
    throw option === "--tls-cert"
      ? wsfleetError("tlsKeyMissing", file)
      : tlsProblem(option, file, "holds no PEM private key (-----BEGIN PRIVATE KEY-----); pass the key file");
  }
  if (match[1] === "ENCRYPTED PRIVATE KEY") {
    throw tlsProblem(option, file, "the key is encrypted; decrypt it first: openssl pkey -in key.pem -out plain.pem");
  }
  try {
    return { pem: match[0], key: createPrivateKey(match[0]) };
  } catch (error) {
    throw tlsProblem(option, file, `the private key cannot be read (${(error as Error).message})`);
  }
}

function formatSerial(hex: string): string {
  return hex.toUpperCase();
}

/** Checks the certificate (and key) texts at time `now`: throws a tlsProblem naming the option at fault. */
export function inspectTls(source: TlsSource, now: Date): TlsMaterial {
  const { certFile, certText } = source;
  const blocks = certText.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw tlsProblem(
      "--tls-cert",
      certFile,
      "is not a PEM certificate (no -----BEGIN CERTIFICATE----- block); convert DER with openssl x509 -inform der -in cert.der -out cert.pem",
    );
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0] as string);
    for (const block of blocks.slice(1)) new X509Certificate(block);
  } catch (error) {
    throw tlsProblem("--tls-cert", certFile, `a certificate in it cannot be read (${(error as Error).message})`);
  }
  const { pem: keyPem, key } =
    source.keyText === undefined || source.keyFile === undefined
      ? parseKey("--tls-cert", certFile, certText)
      : parseKey("--tls-key", source.keyFile, source.keyText);
  if (!leaf.checkPrivateKey(key)) {
    throw source.keyFile === undefined
      ? tlsProblem("--tls-cert", certFile, "the private key in it does not belong to its certificate")
      : tlsProblem("--tls-key", source.keyFile, `does not belong to the certificate in ${JSON.stringify(certFile)}`);
  }
  const notAfter = new Date(leaf.validTo);
  const notBefore = new Date(leaf.validFrom);
  if (notAfter.getTime() <= now.getTime()) {
    throw tlsProblem("--tls-cert", certFile, `the certificate expired on ${notAfter.toISOString()}; renew it`);
  }
  if (notBefore.getTime() > now.getTime()) {
    throw tlsProblem(
      "--tls-cert",
      certFile,
      `the certificate is not valid before ${notBefore.toISOString()}; check the clock or the certificate`,
    );
  }
  const warnings =
    notAfter.getTime() - now.getTime() < EXPIRY_WARNING_MS
      ? [`the certificate in ${certFile} expires on ${notAfter.toISOString()}, within 14 days; renew it`]
      : [];
  return Object.freeze({
    combinedPem: `${blocks.join("\n")}\n${keyPem}\n`,
    serial: formatSerial(leaf.serialNumber),
    subject: leaf.subject.replace(/\n/g, ", "),
    notAfter,
    warnings,
  });
}

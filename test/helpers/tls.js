import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A throw-away CA and leaf certificates for localhost and 127.0.0.1, made with the real `openssl` in a temp dir that
 * the test removes. `leaf(name, { serial, days })` signs one more leaf: days 0 gives one that expires at once.
 */
export async function makeTestPki(t) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-test-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name) => path.join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run(
    "openssl",
    ["req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.pem")].concat([
      "-subj",
      "/CN=wsfleet test CA",
      "-days",
      "2",
    ]),
  );
  writeFileSync(
    file("ext.cnf"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  async function leaf(name, { serial = 0x1000, days = 2 } = {}) {
    const key = file(`${name}.key`);
    const cert = file(`${name}.pem`);
    await run("openssl", ["req", ...ec, "-keyout", key, "-out", file(`${name}.csr`), "-subj", "/CN=localhost"]);
    await run(
      "openssl",
      ["x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.pem"), "-CAkey", file("ca.key")]
        .concat(["-set_serial", `0x${serial.toString(16)}`, "-days", String(days), "-extfile", file("ext.cnf")])
        .concat(["-out", cert]),
    );
    const combined = file(`${name}.combined.pem`);
    writeFileSync(combined, readFileSync(cert, "utf8") + readFileSync(key, "utf8"));
    return { cert, key, combined, serial: serial.toString(16).toUpperCase() };
  }
  return { dir, ca: file("ca.pem"), file, leaf };
}

/** The serial of the certificate a TLS server on 127.0.0.1:`port` presents to a new handshake, trusting `ca`. */
export async function presentedSerial(port, ca) {
  const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: readFileSync(ca) });
  try {
    await once(socket, "secureConnect");
    return socket.getPeerX509Certificate().serialNumber;
  } finally {
    socket.destroy();
  }
}

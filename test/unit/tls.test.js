import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { haproxyConfigModel } from "../../dist/cli/haproxy-config.js";
import { validateOptions } from "../../dist/config/validate.js";
import { WsfleetError } from "../../dist/errors.js";
import { checkConfigFile } from "../../dist/haproxy/check.js";
import { renderConfig } from "../../dist/haproxy/config.js";
import { serversFor, websocketModel } from "../../dist/haproxy/model.js";
import { inspectTls } from "../../dist/tls/pem.js";
import { makeTestPki } from "../helpers/tls.js";

const defaults = { webConcurrency: undefined, cpuCount: 2 };
const read = (file) => readFileSync(file, "utf8");

/** inspectTls on files as the user named them (undefined key: the key is in the certificate file). */
function inspect(certFile, keyFile, now = new Date()) {
  return inspectTls(
    { certFile, certText: read(certFile), keyFile, keyText: keyFile === undefined ? undefined : read(keyFile) },
    now,
  );
}

function assertTlsProblem(fn, pattern) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof WsfleetError, String(error));
    assert.equal(error.code, "WSFLEET_TLS_INVALID");
    assert.equal(error.exitCode, 2);
    assert.match(error.message, pattern);
    return true;
  });
}

test("a certificate and its key pass; the combined PEM has the chain then the key", async (t) => {
  const pki = await makeTestPki(t);
  const leaf = await pki.leaf("leaf", { serial: 0xabc1, days: 30 });
  const material = inspect(leaf.cert, leaf.key);
  assert.equal(material.serial, "ABC1");
  assert.match(material.subject, /CN=localhost/);
  assert.deepEqual(material.warnings, []);
  assert.ok(material.combinedPem.startsWith("-----BEGIN CERTIFICATE-----"));
  assert.ok(material.combinedPem.includes(read(leaf.key).trim()), "the key follows the certificate");
  // HAProxy's crt format: one file with both, and no --tls-key.
  assert.equal(inspect(leaf.combined, undefined).serial, "ABC1");
  // A chain after the leaf is fine; the leaf (first) is the one served.
  const chained = pki.file("chained.pem");
  writeFileSync(chained, read(leaf.cert) + read(pki.ca));
  assert.equal(inspect(chained, leaf.key).serial, "ABC1");
});

test("each bad input names the option at fault: not PEM, no key, wrong key, expired; near expiry only warns", async (t) => {
  const pki = await makeTestPki(t);
  const good = await pki.leaf("good", { days: 30 });
  const other = await pki.leaf("other", { days: 30 });
  const expired = await pki.leaf("expired", { days: 0 });
  const soon = await pki.leaf("soon", { days: 5 });
  const der = pki.file("cert.der");
  writeFileSync(der, Buffer.from(read(good.cert).replace(/-----[^-]+-----|\s/g, ""), "base64"));
  assertTlsProblem(() => inspect(der, good.key), /^--tls-cert ".*cert\.der": is not a PEM certificate/);
  assertTlsProblem(
    () => inspect(good.cert, undefined),
    /^--tls-key missing: the certificate file .* holds no private key/,
  );
  assertTlsProblem(() => inspect(good.cert, good.cert), /^--tls-key ".*good\.pem": holds no PEM private key/);
  assertTlsProblem(
    () => inspect(good.cert, other.key),
    /^--tls-key ".*other\.key": does not belong to the certificate/,
  );
  assertTlsProblem(
    () => inspect(expired.cert, expired.key),
    /^--tls-cert ".*expired\.pem": the certificate expired on/,
  );
  const mixed = pki.file("mixed.pem");
  writeFileSync(mixed, read(good.cert) + read(other.key));
  assertTlsProblem(
    () => inspect(mixed, undefined),
    /^--tls-cert ".*mixed\.pem": the private key in it does not belong/,
  );
  assert.match(inspect(soon.cert, soon.key).warnings[0] ?? "", /expires on .*, within 14 days; renew it/);
  // Checked against the time given, not the clock: the good one has expired 31 days from now.
  const later = new Date(Date.now() + 31 * 24 * 3600 * 1000);
  assertTlsProblem(() => inspect(good.cert, good.key, later), /the certificate expired on/);
});

test("--tls-key without --tls-cert, and --tls-cert with --exec but no --haproxy, are refused before any file is read", () => {
  assert.throws(
    () => validateOptions({ tlsKey: "key.pem" }, defaults),
    /--tls-key: "key.pem"; expected it together with --tls-cert/,
  );
  assert.throws(
    () => validateOptions({ tlsCert: "c.pem", exec: "python3 app.py" }, defaults),
    /--tls-cert: "c.pem"; expected it with --haproxy when workers are --exec programs/,
  );
  assert.deepEqual(validateOptions({ tlsCert: "c.pem", exec: "x", haproxy: true }, defaults).tls, {
    certFile: "c.pem",
    keyFile: undefined,
  });
});

test("TLS frontends render `bind ... ssl crt <file> alpn http/1.1` and pass haproxy -c with a real certificate", async (t) => {
  const pki = await makeTestPki(t);
  const leaf = await pki.leaf("site", { days: 30 });
  const spaced = path.join(pki.dir, "my site.pem");
  copyFileSync(leaf.combined, spaced);
  const servers = serversFor("websockets-test", [{ host: "127.0.0.1", firstPort: 9000, lastPort: 9001 }]);
  const variants = {
    tls: websocketModel({ servers, frontend: { host: "127.0.0.1", port: 18443 }, tlsCrtFile: leaf.combined }),
    "tls, path with a space": websocketModel({ servers, frontend: { host: "::1", port: 18443 }, tlsCrtFile: spaced }),
    "haproxy-config --tls-cert": haproxyConfigModel({ tlsCert: leaf.combined, workers: "2" }, defaults),
  };
  for (const [name, model] of Object.entries(variants)) {
    const text = renderConfig(model);
    assert.match(text, /\n {4}bind \S+ ssl crt .+ alpn http\/1\.1\n/, name);
    const file = path.join(pki.dir, `${name.replace(/\W+/g, "-")}.cfg`);
    writeFileSync(file, text);
    await checkConfigFile("haproxy", file);
  }
  assert.match(renderConfig(variants["tls, path with a space"]), /ssl crt "[^"]*my site\.pem" alpn/);
  // A separate key HAProxy would not find is refused, naming the option.
  assert.throws(
    () => haproxyConfigModel({ tlsCert: leaf.cert, tlsKey: "/elsewhere/site.key" }, defaults),
    /--tls-key: "\/elsewhere\/site.key"; expected the key where HAProxy finds it/,
  );
});

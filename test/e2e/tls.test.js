import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { copyFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { browserEcho, launchChromium } from "../helpers/browser.js";
import { assertGuideTranscript, connect, roundTrip } from "../helpers/clients.js";
import { eventually, runPrimary, startPrimary } from "../helpers/fleet.js";
import { startHaproxyFleet } from "../helpers/haproxy.js";
import { freePortRange } from "../helpers/ports.js";
import { makeTestPki, presentedSerial } from "../helpers/tls.js";

/** The PKI of this file: a CA, two good leaves (serials 1001, 1002) and the bad inputs, made once. */
async function pkiWithLeaves(t) {
  const pki = await makeTestPki(t);
  const first = await pki.leaf("first", { serial: 0x1001, days: 30 });
  const second = await pki.leaf("second", { serial: 0x1002, days: 30 });
  // What the fleet is started with: files the "renewal" overwrites in place, as acme.sh or certbot do.
  const live = { cert: pki.file("live.pem"), key: pki.file("live.key") };
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  const install = (leaf) => {
    copyFileSync(leaf.cert, live.cert);
    copyFileSync(leaf.key, live.key);
  };
  return { pki, first, second, live, install, ca: readFileSync(pki.ca) };
}

/** Its runtime directory: the one whose primary.pid is `pid`. */
function runtimeDirOf(pid) {
  const tmp = os.tmpdir();
  const dir = readdirSync(tmp).find((name) => name.startsWith(`wsfleet-${pid}-`));
  assert.ok(dir, `runtime dir of ${pid}`);
  return path.join(tmp, dir);
}

/** A plain (no TLS) WebSocket handshake to a TLS port: what the server sends back, or "" when it just closes. */
async function plainHandshake(port) {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(
    "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  );
  let answer = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk) => {
    answer += chunk;
  });
  await once(socket, "close");
  return answer;
}

test("--haproxy --tls-cert: wss:// for python, ws and Chromium; reload-cert swaps it live; a bad one is refused", async (t) => {
  const { first, second, live, install, ca, pki } = await pkiWithLeaves(t);
  const fleet = await startHaproxyFleet(t, 2, ["--tls-cert", live.cert, "--tls-key", live.key]);
  const { frontendPort, primary } = fleet;
  const url = `wss://localhost:${frontendPort}/`;
  const pid = String(primary.child.pid);
  assert.match(fleet.started.message, new RegExp(`serves wss://127\\.0\\.0\\.1:${frontendPort}/`));

  // The guide's client with the CA in SSL_CERT_FILE, as the README shows it; Node's ws with `ca`.
  await assertGuideTranscript(url, { SSL_CERT_FILE: pki.ca });
  const before = await connect(url, 5000, { ca });
  assert.equal((await roundTrip(before, "before", false)).data.toString(), "before");
  assert.equal(await presentedSerial(frontendPort, pki.ca), first.serial);
  // The combined PEM HAProxy reads holds the key: mode 0600 in the runtime directory.
  const pem = path.join(runtimeDirOf(pid), "tls.pem");
  assert.equal(statSync(pem).mode & 0o777, 0o600);
  assert.match(
    readFileSync(path.join(runtimeDirOf(pid), "haproxy.cfg"), "utf8"),
    /ssl crt \S+tls\.pem alpn http\/1\.1/,
  );

  // Plain ws:// to the TLS port: the TLS handshake fails, nothing HTTP comes back; wss:// keeps working.
  assert.doesNotMatch(await plainHandshake(frontendPort), /HTTP\/1\.1 101/);

  // Rotation: the renewed files are swapped into the running HAProxy; the open connection is untouched.
  install(second);
  const reloaded = await runPrimary(["reload-cert", "--pid", pid]);
  assert.equal(reloaded.code, 0, reloaded.stderr);
  assert.match(reloaded.stdout, /haproxy now serves certificate serial 1002 to new handshakes/);
  assert.equal(await presentedSerial(frontendPort, pki.ca), second.serial);
  assert.equal((await roundTrip(before, "after reload", false)).data.toString(), "after reload");
  const after = await connect(url, 5000, { ca });
  assert.equal((await roundTrip(after, new Uint8Array([1, 2, 250]), true)).data.length, 3);

  // A bad renewal (key of another certificate) is refused, exit 2 naming the option; serial 1002 keeps serving.
  copyFileSync(first.key, live.key);
  const refused = await runPrimary(["reload-cert", "--pid", pid]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /WSFLEET_TLS_INVALID: --tls-key ".*live\.key": does not belong to the certificate/);
  assert.equal(await presentedSerial(frontendPort, pki.ca), second.serial);
  assert.equal((await roundTrip(before, "still", false)).data.toString(), "still");

  // Chromium, trusting the test certificate by its public key, gets text and binary echoes over wss://.
  const spki = new X509Certificate(readFileSync(second.cert)).publicKey.export({ type: "spki", format: "der" });
  const browser = await launchChromium(t, [
    `--ignore-certificate-errors-spki-list=${createHash("sha256").update(spki).digest("base64")}`,
  ]);
  assert.deepEqual(await browserEcho(browser, url), {
    text: "Hello from Chromium!",
    binary: [1, 2, 3, 250],
    closeCode: 1000,
  });
  before.close();
  after.close();
  // The key's text never reaches the log.
  const keyBody = readFileSync(second.key, "utf8").split("\n")[1];
  assert.ok(!primary.stdout.includes(keyBody) && !primary.stderr.includes(keyBody));
  assert.ok(!/PRIVATE KEY/.test(primary.stdout + primary.stderr));
});

test("--shared-port --tls-cert: the workers serve wss:// themselves; reload-cert rolls them onto the new certificate", async (t) => {
  const { second, live, install, ca, pki, first } = await pkiWithLeaves(t);
  const port = await freePortRange(1);
  const primary = startPrimary(t, [
    ...["--workers", "2", "--shared-port", String(port), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--drain-timeout", "0", "--tls-cert", live.cert, "--tls-key", live.key],
  ]);
  await primary.waitForRunning(2);
  const url = `wss://localhost:${port}/`;
  await assertGuideTranscript(url, { SSL_CERT_FILE: pki.ca });
  assert.equal(await presentedSerial(port, pki.ca), first.serial);
  const response = await fetch(`https://127.0.0.1:${port}/healthz`).catch((error) => error);
  assert.ok(response instanceof Error, "fetch without the CA refuses the test certificate");
  assert.doesNotMatch(await plainHandshake(port), /HTTP\/1\.1 101/);

  install(second);
  const from = primary.events.length;
  const reloaded = await runPrimary(["reload-cert", "--pid", String(primary.child.pid)]);
  assert.equal(reloaded.code, 0, reloaded.stderr);
  assert.match(reloaded.stdout, /certificate serial 1002 checked; rolling restart under way/);
  await primary.waitForRunning(2, from, 30_000);
  assert.ok(await eventually(async () => (await presentedSerial(port, pki.ca)) === second.serial, 5000));
  const ws = await connect(url, 5000, { ca });
  assert.equal((await roundTrip(ws, "renewed", false)).data.toString(), "renewed");
  ws.close();
});

test("bad TLS input exits 2 naming the option, before any worker starts; haproxy-config --tls-cert prints the TLS bind", async (t) => {
  const { pki, first, second } = await pkiWithLeaves(t);
  const expired = await pki.leaf("expired", { serial: 0x1003, days: 0 });
  const port = String(await freePortRange(1));
  const base = ["--workers", "1", "--base-port", port, "--host", "127.0.0.1"];
  const cases = [
    [["--tls-cert", pki.file("missing.pem")], /--tls-cert ".*missing\.pem": no such file/],
    [["--tls-cert", pki.dir], /--tls-cert ".*": is a directory/],
    [["--tls-cert", pki.file("ext.cnf"), "--tls-key", first.key], /--tls-cert ".*ext\.cnf": is not a PEM certificate/],
    [["--tls-cert", first.cert], /--tls-key missing: the certificate file .* holds no private key/],
    [["--tls-cert", first.cert, "--tls-key", second.key], /--tls-key ".*second\.key": does not belong/],
    [["--tls-cert", expired.cert, "--tls-key", expired.key], /--tls-cert ".*expired\.pem": the certificate expired/],
    [["--tls-key", first.key], /--tls-key: ".*"; expected it together with --tls-cert/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr, stdout } = await runPrimary([...base, ...args]);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, pattern);
    assert.doesNotMatch(stdout + stderr, /spawned/);
  }
  const printed = await runPrimary(["haproxy-config", "--workers", "2", "--tls-cert", first.combined]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, new RegExp(`bind localhost:8080 ssl crt ${first.combined} alpn http/1\\.1\\n`));
  const noKey = await runPrimary(["haproxy-config", "--tls-cert", first.cert]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /--tls-key missing/);
});

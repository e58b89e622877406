import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { WebSocketServer } from "ws";
import { eventually, PRIMARY, SYSTEM_PYTHON, TIMEOUT_FACTOR } from "../helpers/fleet.js";

const ESC = String.fromCharCode(27);
const ESCAPES = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]|${ESC}[78=>]|\r`, "g");

/** What a person reads: terminal escapes and prompts gone, one entry a non-empty line. */
function transcript(output) {
  return output
    .replace(ESCAPES, "")
    .split("\n")
    .map((line) => line.replace(/^(> )+/, "").trim())
    .filter((line) => line !== "");
}

const CLIENTS = {
  wsfleet: (url) => [process.execPath, PRIMARY, "client", url],
  python: (url) => [SYSTEM_PYTHON, "-m", "websockets", url],
};

/**
 * Runs a client with `lines` typed one at a time (each after the previous reply), then the end of input; under a
 * pseudo-terminal (util-linux `script`) when `tty`. Resolves with its exit code and its transcript.
 */
async function converse(command, { lines, replies, tty = false, env = {} }) {
  const [file, ...args] = tty
    ? ["script", "-q", "-e", "-c", command.map((arg) => `'${arg}'`).join(" "), "/dev/null"]
    : command;
  const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  const exited = once(child, "exit");
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000 * TIMEOUT_FACTOR);
  assert.ok(await eventually(() => output.includes("Connected to"), 5000), output);
  for (const [index, line] of lines.entries()) {
    child.stdin.write(`${line}${tty ? "\r" : "\n"}`);
    assert.ok(await eventually(() => transcript(output).includes(replies[index]), 5000), output);
  }
  // Ctrl-D on an empty line ends a terminal's input; a pipe ends.
  if (child.exitCode === null && tty) child.stdin.write("\x04");
  else child.stdin.end();
  const [code] = await exited;
  clearTimeout(timer);
  if (tty) child.stdin.end();
  return { code, lines: transcript(output) };
}

/** A `ws` echo server that closes with 4000 "bye" when told "close me"; over TLS when given a key and certificate. */
async function echoServer(t, tls) {
  const server = tls ? https.createServer(tls) : undefined;
  const wss = new WebSocketServer(server ? { server } : { host: "127.0.0.1", port: 0 });
  if (server) await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  else await once(wss, "listening");
  wss.on("connection", (ws) =>
    ws.on("message", (data, isBinary) => {
      if (String(data) === "close me") ws.close(4000, "bye");
      else ws.send(data, { binary: isBinary });
    }),
  );
  t.after(() => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server?.close();
  });
  return (server ?? wss).address().port;
}

test("wsfleet client: the same transcript as python -m websockets, piped and in a terminal", async (t) => {
  const port = await echoServer(t);
  const url = `ws://127.0.0.1:${port}/`;
  for (const tty of [false, true]) {
    const results = {};
    for (const [name, command] of Object.entries(CLIENTS)) {
      results[name] = await converse(command(url), { lines: ["Hello!"], replies: ["< Hello!"], tty });
    }
    const expected = tty
      ? [`Connected to ${url}.`, "Hello!", "< Hello!", "Connection closed: 1000 (OK)."]
      : [`Connected to ${url}.`, "< Hello!", "Connection closed: 1000 (OK)."];
    assert.deepEqual(results.python.lines, expected, `python, tty=${tty}`);
    assert.deepEqual(results.wsfleet.lines, results.python.lines, `tty=${tty}`);
    assert.equal(results.wsfleet.code, 0);
  }
});

test("wsfleet client: a close by the server shows its code and reason, exit 1", async (t) => {
  const port = await echoServer(t);
  const url = `ws://127.0.0.1:${port}/`;
  const lines = ["Hello!", "close me"];
  const replies = ["< Hello!", "Connection closed: 4000 (private use) bye."];
  const ours = await converse(CLIENTS.wsfleet(url), { lines, replies });
  const python = await converse(CLIENTS.python(url), { lines, replies });
  assert.deepEqual(ours.lines, python.lines);
  assert.deepEqual(ours.lines, [`Connected to ${url}.`, ...replies]);
  // python's client exits 0 whatever the close; ours says it was not a normal one.
  assert.equal(ours.code, 1);
});

test("wsfleet client: wss:// trusts the system CA store (SSL_CERT_FILE), as python's client does", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-ca-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl(
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
    ...["-subj", "/CN=wsfleet test CA", "-keyout", file("ca.key"), "-out", file("ca.pem")],
  );
  openssl(
    ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost"],
    ...["-keyout", file("server.key"), "-out", file("server.csr")],
  );
  const extensions = file("ext.cnf");
  execFileSync("sh", ["-c", `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > '${extensions}'`]);
  openssl(
    ...["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key")],
    ...["-CAcreateserial", "-days", "1", "-extfile", extensions, "-out", file("server.pem")],
  );
  const port = await echoServer(t, { key: readFileSync(file("server.key")), cert: readFileSync(file("server.pem")) });
  const url = `wss://localhost:${port}/`;
  const lines = ["Hello!"];
  const replies = ["< Hello!"];
  const env = { SSL_CERT_FILE: file("ca.pem") };
  const ours = await converse(CLIENTS.wsfleet(url), { lines, replies, env });
  assert.deepEqual(ours.lines, [`Connected to ${url}.`, "< Hello!", "Connection closed: 1000 (OK)."]);
  assert.equal(ours.code, 0);
  const python = await converse(CLIENTS.python(url), { lines, replies, env });
  assert.deepEqual(python.lines, ours.lines);
  // Without our CA the certificate is refused: a clear line and exit 1.
  const untrusted = spawn(process.execPath, [PRIMARY, "client", url], { stdio: ["pipe", "pipe", "pipe"] });
  const exited = once(untrusted, "exit");
  let output = "";
  untrusted.stdout.on("data", (chunk) => {
    output += chunk;
  });
  const [code] = await exited;
  assert.equal(code, 1);
  assert.match(
    transcript(output).join("\n"),
    new RegExp(`Failed to connect to ${url.replace(/[./]/g, "\\$&")}: .*certificate`),
  );
});

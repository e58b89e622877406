import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { startOneWorker } from "../helpers/fleet.js";

const CHROMIUM = "/usr/bin/chromium";

test("headless Chromium opens a WebSocket to a worker and gets its echo, text and binary", async (t) => {
  assert.ok(existsSync(CHROMIUM), "Debian's chromium is installed by .ci/run (apt-get install chromium)");
  const { port } = await startOneWorker(t);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const result = await page.evaluate(async (url) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("WebSocket error"));
    });
    const next = () => new Promise((resolve) => (ws.onmessage = (event) => resolve(event.data)));
    const textReply = next();
    ws.send("Hello from Chromium!");
    const text = await textReply;
    const binaryReply = next();
    ws.send(new Uint8Array([1, 2, 3, 250]));
    const binary = Array.from(new Uint8Array(await binaryReply));
    const closed = new Promise((resolve) => (ws.onclose = (event) => resolve(event.code)));
    ws.close(1000);
    return { text, binary, closeCode: await closed };
  }, `ws://127.0.0.1:${port}/`);
  assert.deepEqual(result, { text: "Hello from Chromium!", binary: [1, 2, 3, 250], closeCode: 1000 });
});

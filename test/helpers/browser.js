import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

/** Debian's headless Chromium through playwright-core, closed when the test ends; `args` are added to its flags. */
export async function launchChromium(t, args = []) {
  assert.ok(existsSync(CHROMIUM), "Debian's chromium is installed by .ci/run (apt-get install chromium)");
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
      ...args,
    ],
  });
  t.after(() => browser.close());
  return browser;
}

/** In a page of `browser`: open `url`, send a text and a binary message, close; resolves with what came back. */
export async function browserEcho(browser, url) {
  const page = await browser.newPage();
  return page.evaluate(async (target) => {
    const ws = new WebSocket(target);
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
  }, url);
}

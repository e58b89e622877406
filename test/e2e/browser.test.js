import assert from "node:assert/strict";
import { test } from "node:test";
import { browserEcho, launchChromium } from "../helpers/browser.js";
import { startOneWorker } from "../helpers/fleet.js";

test("headless Chromium opens a WebSocket to a worker and gets its echo, text and binary", async (t) => {
  const { port } = await startOneWorker(t);
  const browser = await launchChromium(t);
  const result = await browserEcho(browser, `ws://127.0.0.1:${port}/`);
  assert.deepEqual(result, { text: "Hello from Chromium!", binary: [1, 2, 3, 250], closeCode: 1000 });
});

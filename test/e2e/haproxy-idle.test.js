// The one slow case, in its own file so it runs beside the others: an idle WebSocket through HAProxy for 35 s.
import assert from "node:assert/strict";
import { test } from "node:test";
import { closed, connect, roundTrip } from "../helpers/clients.js";
import { sleep } from "../helpers/fleet.js";
import { startHaproxyFleet } from "../helpers/haproxy.js";

const IDLE_MS = 35_000;

test("an idle WebSocket through --haproxy survives 35 s (the guide's 30 s timeouts would cut it: timeout tunnel)", async (t) => {
  const { url } = await startHaproxyFleet(t, 1);
  const ws = await connect(url);
  let closedEarly;
  ws.once("close", (code) => {
    closedEarly = code;
  });
  const startedMs = Date.now();
  // The idle time is what is tested, so this is a sleep, not a wait for a condition.
  await sleep(IDLE_MS);
  assert.equal(closedEarly, undefined, `closed after ${Date.now() - startedMs} ms with ${closedEarly}`);
  assert.equal((await roundTrip(ws, "still here", false)).data.toString(), "still here");
  t.diagnostic(`idle for ${Date.now() - startedMs} ms through haproxy, then echoed`);
  ws.close(1000);
  assert.equal((await closed(ws)).code, 1000);
});

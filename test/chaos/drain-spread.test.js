import assert from "node:assert/strict";
import { test } from "node:test";
import { checked } from "./lib/figures.js";
import { drainSpreadPeaks } from "./lib/under-load.js";

test("--drain-spread: the reconnect peak HAProxy sees in a rolling restart with 4,000 clients, spread 0 / 1 / 2 / 4 s", async (t) => {
  const rows = await drainSpreadPeaks(t, "spread-drains", {
    workers: 4,
    clients: 4000,
    spreads: (process.env.SPREADS ?? "0,1,2,4").split(",").map(Number),
  });
  await checked("spread-drains", () => {
    for (const row of rows) {
      assert.equal(row["failed handshakes"], 0, `spread ${row["--drain-spread, s"]}`);
      assert.equal(row["abnormal closes"], 0, `spread ${row["--drain-spread, s"]}`);
    }
    const [none, ...spread] = rows;
    for (const row of spread)
      assert.ok(
        row["clients: peak in 100 ms, as /s"] < none["clients: peak in 100 ms, as /s"],
        "spreading lowers the peak",
      );
  });
});

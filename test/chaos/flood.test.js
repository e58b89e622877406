import { test } from "node:test";
import { connectionFlood } from "./lib/flood.js";

test("a connection flood from 127.0.0.2 (50 loops, 30 s) beside 50 normal clients from 127.0.0.3 (both --max-conns-per-ip 100): no normal failure", (t) =>
  connectionFlood(t, "connection-flood", { flooders: 50, normalClients: 50, durationMs: 30_000 }));

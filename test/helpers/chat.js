import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect } from "./clients.js";
import { eventually, PRIMARY, startPrimary } from "./fleet.js";
import { freePortRange } from "./ports.js";

export const CHAT = fileURLToPath(new URL("../../examples/chat-room.js", import.meta.url));

/** A fleet of `workers` chat-room workers on `host`, every one RUNNING. */
export async function chatFleet(t, { workers, host = "127.0.0.1", broker, extra = [] }) {
  const port = await freePortRange(workers);
  const args = ["--workers", String(workers), "--base-port", String(port), "--host", host, "--start-secs", "0"];
  const primary = startPrimary(t, [...args, "--app", CHAT, ...(broker ? ["--broker", broker] : []), ...extra]);
  const running = await primary.waitForRunning(workers);
  const urls = Array.from({ length: workers }, (_, i) => `ws://${host}:${port + i}/chat`);
  return { primary, urls, pids: [...running.values()] };
}

/** A client in `room` that records every message as "T:text" or "B:text" (binary). */
export async function member(url, room) {
  const ws = await connect(`${url}?room=${room}`);
  ws.heard = [];
  ws.on("message", (data, isBinary) => ws.heard.push(`${isBinary ? "B" : "T"}:${data}`));
  return ws;
}

/**
 * Every url gets two members of "red" and one of "blue"; the first red member of each worker publishes `count` text
 * messages, the blue member of the first worker `count` binary ones. Checks that each red member heard every red
 * message exactly once, each publisher's in its order, and nothing blue; and each blue member every blue one, binary.
 */
export async function assertRoomsSpan(urls, count) {
  const red = [];
  const blue = [];
  for (const url of urls) {
    red.push(await member(url, "red"), await member(url, "red"));
    blue.push(await member(url, "blue"));
  }
  const publishers = red.filter((_, i) => i % 2 === 0);
  const expectedRed = publishers.flatMap((_, p) => Array.from({ length: count }, (_, n) => `T:red ${p}.${n}`));
  const expectedBlue = Array.from({ length: count }, (_, n) => `B:blue ${n}`);
  for (let n = 0; n < count; n += 1) {
    for (const [p, ws] of publishers.entries()) ws.send(`red ${p}.${n}`);
    blue[0].send(Buffer.from(`blue ${n}`), { binary: true });
  }
  const all = [...red, ...blue];
  const done = () =>
    red.every((ws) => ws.heard.length >= expectedRed.length) &&
    blue.every((ws) => ws.heard.length >= expectedBlue.length);
  await eventually(done, 10_000);
  // A little longer: a duplicate or a stray would arrive after the last expected message.
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const ws of red) {
    assert.deepEqual([...ws.heard].sort(), [...expectedRed].sort(), "a red member heard every red message once");
    publishers.forEach((_, p) => {
      const mine = ws.heard.filter((line) => line.startsWith(`T:red ${p}.`));
      assert.deepEqual(
        mine,
        expectedRed.filter((line) => line.startsWith(`T:red ${p}.`)),
        "in publish order",
      );
    });
  }
  for (const ws of blue) assert.deepEqual(ws.heard, expectedBlue, "a blue member heard every blue message, binary");
  for (const ws of all) ws.close();
}

/** `wsfleet status --json` of the primary `pid`. */
export function statusJson(pid) {
  const run = spawnSync(process.execPath, [PRIMARY, "status", "--json", "--pid", String(pid)], { encoding: "utf8" });
  return JSON.parse(run.stdout);
}

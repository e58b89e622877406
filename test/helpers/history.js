import assert from "node:assert/strict";
import WebSocket from "ws";
import { CHAT } from "./chat.js";
import { eventually, TIMEOUT_FACTOR } from "./fleet.js";
import { startHaproxyFleet } from "./haproxy.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `count` chat-room clients (examples/chat-room.js with --history) in `room` that record every message's offset and
 * data, and on any close reconnect at once with `?epoch=…&offset=<last>`: the reconnecting subscriber. Each
 * reconnect's time to open and to its first message is kept. `urls` are taken in turn (several fleets).
 */
export function startRoomSubscribers(urls, count, room = "lobby") {
  const clients = [];
  let stopping = false;
  for (let id = 0; id < count; id += 1) {
    const client = {
      id,
      epoch: undefined,
      offset: undefined,
      got: [],
      notRecovered: [],
      reconnects: [],
      closeCodes: {},
      failures: 0,
      ws: undefined,
    };
    clients.push(client);
    const connect = (closedAt) => {
      if (stopping) return;
      const url = urls[id % urls.length];
      const query = client.epoch === undefined ? "" : `&epoch=${client.epoch}&offset=${client.offset}`;
      const ws = new WebSocket(`${url}?room=${room}${query}`, { handshakeTimeout: 5000 * TIMEOUT_FACTOR });
      client.ws = ws;
      let opened = false;
      const reconnect = closedAt === undefined ? undefined : { closedAt, openMs: undefined, firstMessageMs: undefined };
      if (reconnect) client.reconnects.push(reconnect);
      ws.on("open", () => {
        opened = true;
        if (reconnect) reconnect.openMs = performance.now() - closedAt;
      });
      ws.on("message", (data) => {
        const message = JSON.parse(String(data));
        if (reconnect && reconnect.firstMessageMs === undefined)
          reconnect.firstMessageMs = performance.now() - closedAt;
        if (message.recovered === false) {
          client.notRecovered.push(message);
        } else client.got.push({ epoch: message.epoch, offset: message.offset, data: message.data });
        client.epoch = message.epoch;
        client.offset = message.offset;
      });
      ws.on("error", () => {});
      ws.on("close", (code) => {
        if (stopping) return;
        if (!opened) client.failures += 1;
        client.closeCodes[code] = (client.closeCodes[code] ?? 0) + 1;
        // A failed handshake retries under the same reconnect; a closed connection starts a new one.
        setTimeout(() => connect(opened ? performance.now() : closedAt), opened ? 0 : 50);
      });
    };
    connect(undefined);
  }
  const openCount = () => clients.filter((c) => c.ws?.readyState === WebSocket.OPEN).length;
  return {
    clients,
    openCount,
    allOpen: (timeoutMs = 10_000) => eventually(() => openCount() === count, timeoutMs),
    /** Resolves once every client's last offset is `offset`. */
    caughtUp: (offset, timeoutMs = 15_000) => eventually(() => clients.every((c) => c.offset === offset), timeoutMs),
    stop() {
      stopping = true;
      for (const client of clients) client.ws?.terminate();
    },
  };
}

/**
 * One client publishing `perSecond` numbered messages ("p1", "p2", …) to `room` while open; reconnects on any close.
 * It counts what it could not send (its socket was closing or reconnecting) and learns the last offset from the
 * messages it hears back (it is in the room too).
 */
export function startRoomPublisher(url, perSecond, room = "lobby") {
  const state = { sent: 0, unsent: 0, lastOffset: 0, epoch: undefined, ws: undefined };
  let stopping = false;
  let n = 0;
  const connect = () => {
    if (stopping) return;
    const ws = new WebSocket(`${url}?room=${room}`);
    state.ws = ws;
    ws.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (typeof message.offset === "number" && message.offset > state.lastOffset) state.lastOffset = message.offset;
    });
    ws.on("error", () => {});
    ws.on("close", () => setTimeout(connect, 20));
  };
  connect();
  const timer = setInterval(() => {
    n += 1;
    if (state.ws?.readyState === WebSocket.OPEN) {
      state.ws.send(`p${n}`);
      state.sent += 1;
    } else state.unsent += 1;
  }, 1000 / perSecond);
  return {
    state,
    stop() {
      stopping = true;
      clearInterval(timer);
    },
    close() {
      stopping = true;
      clearInterval(timer);
      state.ws?.terminate();
    },
  };
}

/**
 * The check: every client has every message exactly once and in order: one epoch, offsets 1…last without a
 * gap or a repeat, the same data at each offset for everyone, the publisher's numbers increasing. Returns figures.
 */
export function assertEveryMessageOnce(clients, last) {
  const reference = new Map();
  for (const client of clients) {
    assert.deepEqual(client.notRecovered, [], `client ${client.id} was never told to resync`);
    const offsets = client.got.map((m) => m.offset);
    assert.equal(offsets.length, last, `client ${client.id} has ${offsets.length} messages of ${last}`);
    for (let i = 0; i < offsets.length; i += 1) {
      if (offsets[i] !== i + 1) assert.fail(`client ${client.id}: message ${i} has offset ${offsets[i]}, not ${i + 1}`);
    }
    assert.equal(new Set(client.got.map((m) => m.epoch)).size, 1, `client ${client.id}: one epoch`);
    let previous = 0;
    for (const message of client.got) {
      const number = Number(String(message.data).slice(1));
      assert.ok(number > previous, `client ${client.id}: the publisher's order (${message.data} after p${previous})`);
      previous = number;
      const seen = reference.get(message.offset);
      if (seen === undefined) reference.set(message.offset, message.data);
      else if (seen !== message.data)
        assert.fail(`offset ${message.offset}: ${seen} for one, ${message.data} for another`);
    }
  }
  const reconnects = clients.flatMap((c) => c.reconnects);
  const firstMessage = reconnects
    .map((r) => r.firstMessageMs)
    .filter((ms) => ms !== undefined)
    .sort((a, b) => a - b);
  const open = reconnects
    .map((r) => r.openMs)
    .filter((ms) => ms !== undefined)
    .sort((a, b) => a - b);
  const pick = (list, q) =>
    list.length === 0 ? undefined : Math.round(list[Math.min(list.length - 1, Math.floor(q * list.length))]);
  return {
    subscribers: clients.length,
    messages: last,
    delivered: clients.reduce((sum, c) => sum + c.got.length, 0),
    duplicates: 0,
    gaps: 0,
    reconnects: reconnects.length,
    openMsP50: pick(open, 0.5),
    openMsP99: pick(open, 0.99),
    firstMessageMsP50: pick(firstMessage, 0.5),
    firstMessageMsP99: pick(firstMessage, 0.99),
    firstMessageMsMax: pick(firstMessage, 1),
  };
}

/**
 * The rolling-restart case: `subscribers` chat-room clients through HAProxy, one publisher at `perSecond`,
 * SIGHUP (a rolling restart of 4 workers, --drain-spread 2); everyone reconnects on 1012 with its last offset.
 */
export async function rollingRestartCase(t, { subscribers, perSecond, broker }) {
  const args = ["--app", CHAT, "--history", "10000", "--drain-spread", "2"];
  const brokerArgs = broker ? ["--broker", broker] : [];
  const fleet = await startHaproxyFleet(t, 4, [...args, ...brokerArgs], { host: broker ? "127.0.0.2" : "127.0.0.1" });
  // With a broker, a second fleet on 127.0.0.3 shares the room: half the subscribers and the publisher are there.
  const other = broker ? await startHaproxyFleet(t, 2, [...args, ...brokerArgs], { host: "127.0.0.3" }) : undefined;
  const url = `${fleet.url}chat`;
  const publisherUrl = other ? `${other.url}chat` : url;
  const room = startRoomSubscribers(other ? [url, `${other.url}chat`] : [url], subscribers);
  t.after(() => room.stop());
  assert.ok(await room.allOpen(20_000), "every subscriber connected");
  const publisher = startRoomPublisher(publisherUrl, perSecond);
  t.after(() => publisher.close());
  await sleep(1000);
  const from = fleet.primary.events.length;
  const startedAt = performance.now();
  fleet.primary.child.kill("SIGHUP");
  await fleet.primary.waitForEvent(
    (event) => fleet.primary.events.indexOf(event) >= from && event.event === "reload" && /done/.test(event.message),
    90_000,
  );
  const rollMs = Math.round(performance.now() - startedAt);
  await sleep(1000);
  publisher.stop();
  await sleep(500);
  const last = Math.max(...room.clients.map((c) => c.offset ?? 0));
  assert.ok(await room.caughtUp(last, 20_000), `every subscriber reached offset ${last}`);
  const figures = assertEveryMessageOnce(room.clients, last);
  const restarted = room.clients.filter((c) => (c.closeCodes[1012] ?? 0) > 0).length;
  const onRestartedFleet = other ? Math.ceil(subscribers / 2) : subscribers;
  assert.equal(
    restarted,
    onRestartedFleet,
    "every subscriber of the restarted fleet was closed with 1012 and came back",
  );
  assert.ok(last >= publisher.state.sent * 0.9, `the fleet sequenced ${last} of the ${publisher.state.sent} sent`);
  return { ...figures, rollMs, sent: publisher.state.sent, unsentWhileReconnecting: publisher.state.unsent, restarted };
}

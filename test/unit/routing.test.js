import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BusRouter } from "../../dist/bus/router.js";
import { TopicRoutes } from "../../dist/bus/routing.js";
import { encodeFrame, encodeNotice, FrameSplitter, forEachFrame, ROUTE } from "../../dist/protocol/bus-frames.js";

/** A table plus what each peer has been told, as the workers would hold it. */
function observed(peers) {
  const routes = new TopicRoutes();
  const told = new Map(peers.map((peer) => [peer, new Set()]));
  const notify = (peer, topic, wanted) => {
    const view = told.get(peer);
    assert.equal(view.has(topic), !wanted, `${peer} told ${wanted ? "wanted" : "unwanted"} ${topic} twice`);
    if (wanted) view.add(topic);
    else view.delete(topic);
  };
  return { routes, told, notify };
}

test("routing: the first server subscribes the fleet, the last one unsubscribes it; the others hear deltas", () => {
  const { routes, told, notify } = observed(["a", "b", "c"]);
  for (const peer of ["a", "b", "c"]) assert.deepEqual(routes.join(peer), []);
  assert.equal(routes.serve("a", "red", notify), true, "first server of red");
  assert.deepEqual([...told.get("a")], [], "a alone: nobody else wants red");
  assert.deepEqual([...told.get("b")], ["red"]);
  assert.equal(routes.serve("b", "red", notify), false);
  assert.deepEqual([...told.get("a")], ["red"], "now b serves red too: a must send it on");
  assert.equal(routes.serve("b", "red", notify), false, "a second serve of the same topic changes nothing");
  assert.deepEqual([...routes.serversOf("red")], ["a", "b"]);
  assert.equal(routes.unserve("a", "red", notify), false);
  assert.deepEqual([...told.get("b")], [], "b alone again");
  assert.deepEqual(routes.leave("b", notify), ["red"], "b leaving takes red out of the fleet");
  assert.equal(routes.serversOf("red"), undefined);
  assert.deepEqual([...told.get("c")], []);
  assert.equal(routes.servedTopics, 0);
});

test("routing: a peer joining late is given the topics the others serve", () => {
  const { routes, notify } = observed(["a", "b"]);
  routes.join("a");
  routes.serve("a", "red", notify);
  routes.serve("a", "blue", notify);
  assert.deepEqual(routes.join("b").sort(), ["blue", "red"]);
  assert.equal(routes.topicCount("a"), 2);
  assert.equal(routes.topicCount("b"), 0);
});

test("routing (property): after any sequence of serve, unserve, leave and join, each peer's view is exact", () => {
  const peers = ["p0", "p1", "p2", "p3"];
  const topics = ["t0", "t1", "t2"];
  const step = fc.record({
    op: fc.constantFrom("serve", "unserve", "leave", "join"),
    peer: fc.constantFrom(...peers),
    topic: fc.constantFrom(...topics),
  });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const { routes, told, notify } = observed(peers);
      const joined = new Set(peers);
      const served = new Map(peers.map((peer) => [peer, new Set()]));
      const fleetServes = (topic) => peers.some((peer) => served.get(peer).has(topic));
      for (const peer of peers) routes.join(peer);
      for (const { op, peer, topic } of steps) {
        if (op === "join") {
          if (joined.has(peer)) continue;
          joined.add(peer);
          told.set(peer, new Set(routes.join(peer)));
        } else if (!joined.has(peer)) {
        } else if (op === "serve") {
          const before = fleetServes(topic);
          served.get(peer).add(topic);
          assert.equal(routes.serve(peer, topic, notify), !before);
        } else if (op === "unserve") {
          const had = served.get(peer).delete(topic);
          assert.equal(routes.unserve(peer, topic, notify), had && !fleetServes(topic));
        } else {
          const mine = [...served.get(peer)];
          served.set(peer, new Set());
          joined.delete(peer);
          const gone = routes.leave(peer, notify).sort();
          assert.deepEqual(gone, mine.filter((t) => !fleetServes(t)).sort());
        }
      }
      for (const peer of joined) {
        const wanted = topics.filter((t) => peers.some((other) => other !== peer && served.get(other).has(t)));
        assert.deepEqual([...told.get(peer)].sort(), wanted, `${peer}'s view`);
        assert.equal(routes.topicCount(peer), served.get(peer).size);
      }
      for (const topic of topics) {
        const expected = peers.filter((peer) => served.get(peer).has(topic));
        assert.deepEqual([...(routes.serversOf(topic) ?? [])].sort(), expected);
      }
    }),
  );
});

/** A worker connection as the router sees it: what it was written, cut back into frames by a real splitter. */
function peer(name) {
  const splitter = new FrameSplitter();
  const self = {
    name,
    writableLength: 0,
    writes: 0,
    publishes: [],
    notices: [],
    cork() {},
    uncork() {},
    write(bytes) {
      self.writes += 1;
      forEachFrame(
        splitter.push(Buffer.from(bytes)).bytes,
        (topic, payload) => self.publishes.push(`${Buffer.from(topic)}:${Buffer.from(payload)}`),
        (kind, topic) => self.notices.push(`${kind}:${Buffer.from(topic)}`),
      );
      return true;
    },
  };
  return self;
}

const run = (...frames) => {
  const bytes = Buffer.concat(frames);
  return { bytes, count: frames.length };
};

test("router: each publish reaches only the workers serving its topic, in order, never its sender; counted", () => {
  const router = new BusRouter();
  const [a, b, c] = [peer("a"), peer("b"), peer("c")];
  for (const p of [a, b, c]) router.join(p);
  router.route(a, run(encodeNotice(ROUTE.SERVE, "red"), encodeNotice(ROUTE.SERVE, "solo")));
  router.route(b, run(encodeNotice(ROUTE.SERVE, "red")));
  assert.deepEqual(b.notices, [`${ROUTE.WANTED}:red`, `${ROUTE.WANTED}:solo`, `${ROUTE.SERVED}:red`]);
  assert.deepEqual(
    a.notices,
    [`${ROUTE.SERVED}:red`, `${ROUTE.SERVED}:solo`, `${ROUTE.WANTED}:red`],
    "each SERVE is answered; a learns red is wanted once b serves it",
  );
  assert.deepEqual(c.notices, [`${ROUTE.WANTED}:red`, `${ROUTE.WANTED}:solo`]);
  c.writes = 0;
  router.route(
    c,
    run(
      encodeFrame("red", "r1", false),
      encodeFrame("red", "r2", false),
      encodeFrame("solo", "s1", false),
      encodeFrame("none", "n1", false),
      encodeFrame("red", "r3", false),
    ),
  );
  assert.deepEqual(a.publishes, ["red:r1", "red:r2", "solo:s1", "red:r3"]);
  assert.deepEqual(b.publishes, ["red:r1", "red:r2", "red:r3"]);
  assert.deepEqual(c.publishes, [], "the sender's own subscribers were served in its worker");
  assert.deepEqual(router.counts, { forwarded: 5, sent: 7, skipped: 3, dropped: 0 });
  router.route(a, run(encodeFrame("red", "r4", false)));
  assert.deepEqual(b.publishes.at(-1), "red:r4");
  assert.equal(c.publishes.length, 0);
  router.route(b, run(encodeNotice(ROUTE.UNSERVE, "red")));
  assert.deepEqual(a.notices.at(-1), `${ROUTE.UNWANTED}:red`, "b left red: a alone serves it");
  router.leave(a);
  assert.deepEqual(c.notices.slice(-2), [`${ROUTE.UNWANTED}:red`, `${ROUTE.UNWANTED}:solo`]);
  assert.equal(router.servedTopics, 0);
});

test("router: with a broker, workers send everything; the broker hears each topic served and unserved once", () => {
  const router = new BusRouter();
  const calls = [];
  const uplink = {
    publish: (topic, frame) => calls.push(`publish ${topic} ${frame.length}`),
    serve: (topic) => calls.push(`serve ${topic}`),
    unserve: (topic) => calls.push(`unserve ${topic}`),
  };
  const a = peer("a");
  router.join(a);
  router.route(a, run(encodeNotice(ROUTE.SERVE, "early")));
  router.connectUplink(uplink);
  const b = peer("b");
  router.join(b);
  assert.deepEqual(a.notices, [`${ROUTE.SERVED}:early`, `${ROUTE.WANT_ALL}:`]);
  assert.deepEqual(b.notices, [`${ROUTE.WANT_ALL}:`]);
  router.route(b, run(encodeNotice(ROUTE.SERVE, "early"), encodeNotice(ROUTE.SERVE, "late")));
  assert.deepEqual(b.notices, [`${ROUTE.WANT_ALL}:`, `${ROUTE.SERVED}:early`, `${ROUTE.SERVED}:late`]);
  router.route(b, run(encodeFrame("x", "m", false)));
  router.leave(b);
  router.leave(a);
  const frameBytes = encodeFrame("x", "m", false).length;
  assert.deepEqual(calls, ["serve early", "serve late", `publish x ${frameBytes}`, "unserve late", "unserve early"]);
  // From the broker: to the servers of the topic only.
  const c = peer("c");
  router.join(c);
  router.route(c, run(encodeNotice(ROUTE.SERVE, "t")));
  router.route(undefined, run(encodeFrame("t", "from afar", true), encodeFrame("u", "nobody", false)));
  assert.deepEqual(c.publishes, ["t:from afar"]);
});

test("router: a worker with 64 MiB unread loses what comes next, counted as dropped, not sent", () => {
  const router = new BusRouter();
  const [a, b] = [peer("a"), peer("b")];
  router.join(a);
  router.join(b);
  router.route(b, run(encodeNotice(ROUTE.SERVE, "t")));
  b.writableLength = 65 * 1024 * 1024;
  router.route(a, run(encodeFrame("t", "1", false), encodeFrame("t", "2", false)));
  assert.deepEqual(b.publishes, []);
  assert.deepEqual(router.counts, { forwarded: 2, sent: 0, skipped: 0, dropped: 2 });
});

test("router: SERVED follows, in the stream, every publish routed before the SERVE; a notice never overtakes one", () => {
  const router = new BusRouter();
  const [a, b] = [peer("a"), peer("b")];
  const order = [];
  for (const p of [a, b]) {
    router.join(p);
    const write = p.write;
    p.write = (bytes) => {
      forEachFrame(
        Buffer.from(bytes),
        (_topic, payload) => order.push(`${p.name} ${Buffer.from(payload)}`),
        (kind, topic) => order.push(`${p.name} notice ${kind}:${Buffer.from(topic)}`),
      );
      return write(bytes);
    };
  }
  router.route(b, run(encodeNotice(ROUTE.SERVE, "t")));
  order.length = 0;
  // b leaves t and comes back while a's "after" (made before a read its UNWANTED) is on its way: stale, dropped.
  router.route(a, run(encodeFrame("t", "before", false)));
  router.route(b, run(encodeNotice(ROUTE.UNSERVE, "t"), encodeNotice(ROUTE.SERVE, "t")));
  router.route(a, run(encodeFrame("t", "after", false)));
  assert.deepEqual(order, [
    "b before",
    `a notice ${ROUTE.UNWANTED}:t`,
    `a notice ${ROUTE.WANTED}:t`,
    `b notice ${ROUTE.SERVED}:t`,
  ]);
  assert.deepEqual(
    b.publishes,
    ["before"].map((m) => `t:${m}`),
    "a's 'after' is stale: a was told UNWANTED",
  );
  // a acknowledges the UNWANTED: what it sends from now on is routed again.
  router.route(a, run(encodeNotice(ROUTE.UNWANTED_SEEN, "t"), encodeFrame("t", "fresh", false)));
  assert.deepEqual(b.publishes, ["t:before", "t:fresh"]);
});

test("worker interest: first/last subscriber send SERVE/UNSERVE; publishes routed before SERVED are stale", async () => {
  const { TopicInterest } = await import("../../dist/worker/topic-interest.js");
  const { createCounters } = await import("../../dist/protocol/counters.js");
  const counters = createCounters();
  const sent = [];
  const interest = new TopicInterest(counters, (notice) =>
    forEachFrame(
      notice,
      () => {},
      (kind, topic) => sent.push(`${kind}:${Buffer.from(topic)}`),
    ),
  );
  const t = new TextEncoder().encode("room/é").buffer;
  const bytes = new Uint8Array(t);
  interest.subscription(t, 1, 0);
  interest.subscription(t, 2, 1);
  assert.deepEqual(sent, [`${ROUTE.SERVE}:room/é`], "one SERVE for the first subscriber only");
  assert.equal(counters.topics, 1);
  assert.equal(interest.stale(bytes), true, "until the hub's SERVED, what comes was routed before");
  interest.subscription(t, 1, 2);
  interest.subscription(t, 0, 1);
  interest.subscription(t, 1, 0);
  assert.deepEqual(sent.slice(1), [`${ROUTE.UNSERVE}:room/é`, `${ROUTE.SERVE}:room/é`]);
  interest.notice(ROUTE.SERVED, bytes);
  assert.equal(interest.stale(bytes), true, "the second SERVE is not answered yet");
  interest.notice(ROUTE.SERVED, bytes);
  assert.equal(interest.stale(bytes), false);
  assert.equal(interest.mustLeave("room/é"), false, "nobody else wants it");
  interest.notice(ROUTE.WANTED, bytes);
  assert.equal(interest.mustLeave("room/é"), true);
  interest.notice(ROUTE.UNWANTED, bytes);
  assert.equal(interest.mustLeave("room/é"), false);
  assert.equal(sent.at(-1), `${ROUTE.UNWANTED_SEEN}:room/é`, "an UNWANTED is acknowledged");
  interest.notice(ROUTE.WANT_ALL, new Uint8Array(0));
  assert.equal(interest.mustLeave("anything"), true);
  interest.reconnected();
  assert.equal(interest.mustLeave("anything"), false, "a new hub connection starts from nothing");
  assert.equal(sent.at(-1), `${ROUTE.SERVE}:room/é`, "and hears again what this worker serves");
  assert.equal(interest.stale(bytes), true);
});

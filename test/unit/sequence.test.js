import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FORGET_AFTER_MS, PublishSequences, SequenceTracker } from "../../dist/broker/sequence.js";

test("sequences: each topic numbered 1, 2, 3, … on its own; forgotten after a silence, then 1 again", () => {
  const sequences = new PublishSequences();
  assert.deepEqual(
    ["a", "a", "b", "a", "b"].map((topic) => sequences.next(topic, 0)),
    [1, 2, 1, 3, 2],
  );
  assert.equal(sequences.next("a", FORGET_AFTER_MS - 1), 4, "heard within the silence: goes on");
  assert.equal(sequences.next("a", 2 * FORGET_AFTER_MS + 10_000), 1, "after it: a new run");
  assert.equal(sequences.size, 1, "b, silent too, is gone");
});

test("tracker: a jump counts what was skipped; a new origin or topic starts fresh; forget() ends a topic's runs", () => {
  const tracker = new SequenceTracker();
  assert.equal(tracker.heard("A", "room", 17, 0), 0, "first heard: what came before was not for us");
  assert.equal(tracker.heard("A", "room", 18, 1), 0);
  assert.equal(tracker.heard("A", "room", 25, 2), 6, "19-24 missed");
  assert.equal(tracker.heard("B", "room", 3, 3), 0, "another origin has its own numbering");
  assert.equal(tracker.heard("A", "lobby", 9, 4), 0, "another topic too");
  assert.equal(tracker.heard("A", "room", 4, 5), 3, "at or below the last: a new run, 1-3 missed");
  assert.equal(tracker.heard("A", "room", 1, 6), 0, "a new run heard from its start (wrapped, or forgotten)");
  assert.equal(tracker.lost, 9);
  tracker.forget("room");
  assert.equal(tracker.heard("A", "room", 40, 7), 0, "subscribed again: fresh");
  assert.equal(tracker.lost, 9);
});

test("tracker: an origin silent on a topic for longer than FORGET_AFTER_MS is forgotten (the table is bounded)", () => {
  const tracker = new SequenceTracker();
  for (let i = 0; i < 100; i += 1) tracker.heard(`origin${i}`, "room", 1, 0);
  tracker.heard("live", "room", 1, FORGET_AFTER_MS);
  assert.equal(tracker.size, 101, "not yet");
  tracker.heard("live", "room", 2, FORGET_AFTER_MS + 10_000);
  assert.equal(tracker.size, 1, "only the origin heard lately is left");
  assert.equal(tracker.heard("origin0", "room", 50, FORGET_AFTER_MS + 10_001), 0, "it starts fresh");
});

test("publisher to tracker (property): lost = what was numbered between a topic's first and last heard, minus heard", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ topic: fc.constantFrom("a", "b", "c"), kept: fc.boolean() }), { maxLength: 200 }),
      (publishes) => {
        const sequences = new PublishSequences();
        const tracker = new SequenceTracker();
        const runs = new Map();
        for (const [now, { topic, kept }] of publishes.entries()) {
          const seq = sequences.next(topic, now);
          if (!kept) continue;
          tracker.heard("A", topic, seq, now);
          const run = runs.get(topic) ?? { first: seq, last: seq, heard: 0 };
          run.last = seq;
          run.heard += 1;
          runs.set(topic, run);
        }
        // Missed before the first heard was not for this receiver, and after the last heard it cannot know yet.
        const missed = [...runs.values()].reduce((total, run) => total + run.last - run.first + 1 - run.heard, 0);
        assert.equal(tracker.lost, missed);
      },
    ),
  );
});

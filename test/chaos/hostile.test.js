import { test } from "node:test";
import { abandonedHandshakes, fuzzFrames, slowReaders, unmaskedFrame } from "./lib/hostile.js";

test("1,000 handshakes sent a byte at a time and abandoned: dropped at the idle timeout, others unaffected", (t) =>
  abandonedHandshakes(t, "abandoned-handshakes", { count: 1000 }));

test("unmasked client frames: how soon the worker closes them", (t) =>
  unmaskedFrame(t, "unmasked-frames", { idleTimeout: 8 }));

test("seeded fuzzer: 10,000 mutated frames, no crash, still echoes, memory within 10 %", (t) =>
  fuzzFrames(t, "fuzzer", { total: 10_000 }));

test("slow readers: backpressure keeps the worker's memory bounded and they are closed", (t) =>
  slowReaders(t, "slow-readers", { readers: 50 }));

import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";

/** A clock whose time only moves when the test says so. */
export function fakeClock() {
  let nowMs = 0;
  let timers = [];
  return {
    now: () => nowMs,
    setTimeout(callback, ms) {
      const timer = { at: nowMs + ms, callback };
      timers.push(timer);
      return timer;
    },
    clearTimeout(timer) {
      timers = timers.filter((each) => each !== timer);
    },
    advance(ms) {
      nowMs += ms;
      for (;;) {
        const due = timers.filter((timer) => timer.at <= nowMs).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((timer) => timer !== due);
        due.callback();
      }
    },
  };
}

let nextPid = 100;
/** A child process as SupervisedProcess sees it: pid, piped output, IPC, and exit on demand. */
export function fakeChild() {
  const child = new EventEmitter();
  child.pid = nextPid++;
  child.stdout = new PassThrough();
  child.stderr = new PassThrough();
  child.connected = true;
  child.sent = [];
  child.send = (message) => child.sent.push(message);
  child.exit = (code, signal = null) => {
    child.emit("exit", code, signal);
    child.emit("close", code, signal);
  };
  return child;
}

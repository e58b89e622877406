import { test } from "node:test";
import { rollingRestartCase } from "../helpers/history.js";
import { checked, recordFigures } from "./lib/figures.js";

const SUBSCRIBERS = Number(process.env.HISTORY_SUBSCRIBERS ?? 1000);
const PER_SECOND = Number(process.env.HISTORY_RATE ?? 50);

test(`--history: a rolling restart (SIGHUP, --haproxy, 4 workers, --drain-spread 2) under ${PER_SECOND} msg/s to ${SUBSCRIBERS.toLocaleString("en")} reconnecting subscribers: every one has every message once, in order`, async (t) => {
  let figures;
  await checked("history-rolling-restart", async () => {
    figures = await rollingRestartCase(t, { subscribers: SUBSCRIBERS, perSecond: PER_SECOND });
  });
  recordFigures("history-rolling-restart", {
    title: `--history: rolling restart under ${PER_SECOND} msg/s to ${SUBSCRIBERS} subscribers reconnecting with their last offset`,
    figures,
  });
  t.diagnostic(`history rolling restart: ${JSON.stringify(figures)}`);
});

/**
 * The load scenarios of one process: closed-loop echo at a fixed depth, open-loop at a fixed rate, a new connection
 * per exchange, or idle connections. Each reports raw counts and a histogram; statistics and printing live elsewhere.
 * A scenario is { name, matches(settings), run(settings, hooks) }; a new one is a file here and a line below.
 */
import { connect } from "./connect.js";
import { echo } from "./echo.js";
import { floor } from "./floor.js";
import { idle } from "./idle.js";
import { rate } from "./rate.js";

const SCENARIOS = [floor, echo, rate, connect, idle];

/**
 * Runs the scenario the settings name and returns { histogram, secondMsgs, secondBytes, msgs, bytes, cpuUs, errors, ... }.
 * hooks: onIdleBaseline(), onMeasureStart(), onMeasureEnd(), onSecond(msgs, bytes).
 */
export function runScenario(settings, hooks = {}) {
  const scenario = SCENARIOS.find((s) => s.matches(settings));
  if (!scenario) throw new Error(`no scenario for mode ${settings.mode}`);
  return scenario.run(settings, hooks);
}

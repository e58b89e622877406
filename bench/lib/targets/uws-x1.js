/** A bare uWebSockets.js echo (servers/uws-echo.js): the floor one wsfleet worker is measured against. */
import { singleProcessTarget } from "./single-process.js";

export function uwsSingleTarget() {
  return singleProcessTarget({ id: "uws-x1", label: "a bare uWebSockets.js echo", script: "uws-echo.js" });
}

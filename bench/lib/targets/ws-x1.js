/** One `ws` echo process (servers/ws-echo.js), reached directly. */
import { singleProcessTarget } from "./single-process.js";

export function wsSingleTarget() {
  return singleProcessTarget({ id: "ws-x1", label: "one ws process", script: "ws-echo.js" });
}

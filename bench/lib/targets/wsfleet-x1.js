/** One wsfleet worker, reached directly on its port. */
import { wsfleetTarget } from "./wsfleet.js";

export function wsfleetSingleTarget() {
  return wsfleetTarget({ id: "wsfleet-x1", label: "one wsfleet worker", workers: 1, sweep: true });
}

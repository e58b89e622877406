/**
 * What a target is. A target file exports a function that returns
 * { id, label, workers, sweep?, baseline?, proxied?, available(), start(ctx) }:
 * - `available()` is true, or the reason it cannot run here;
 * - `start(ctx)` starts from a clean state in `ctx.dir`, spawns through `spawnLogged(ctx, …)` (so the runner stops
 *   what it spawned even when the start fails half-way), waits until it answers, and resolves with a `Running`;
 * - `sweep` adds the plan's sweep rows, `proxied` caps the idle row for HAProxy's fds, `baseline` marks the guide.
 */

/**
 * A started target: where to send load, whether it speaks wss:// there, and which pids to watch (with roles: worker,
 * proxy, manager).
 */
export class Running {
  constructor({ port, collect, tls = false }) {
    this.port = port;
    this.collect = collect;
    this.tls = tls;
  }
}

/** PM2's cluster mode with N `ws` echo workers (servers/ws-echo.cjs), in its own PM2_HOME. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { freePortRange } from "../ports.js";
import { rolesOf } from "./children.js";
import { BENCH_DIR, SERVERS_DIR } from "./paths.js";
import { waitForWebSockets } from "./ready.js";
import { Running } from "./target.js";

const PM2 = `${BENCH_DIR}node_modules/pm2/bin/pm2`;

export function pm2WsTarget(n) {
  return {
    id: `pm2-ws-x${n}`,
    label: `PM2 cluster mode + ws ×${n}`,
    workers: n,
    available: () => true,
    async start(ctx) {
      const port = await freePortRange(1);
      const { dir } = ctx;
      const env = { ...process.env, PM2_HOME: `${dir}/pm2`, PORT: String(port) };
      const pm2 = (...args) =>
        execFileSync(process.execPath, [PM2, ...args], { env, cwd: dir, stdio: "pipe", encoding: "utf8" });
      ctx.cleanups.push(() => pm2("kill"));
      // --wait-ready: `pm2 start` returns once every instance has sent "ready" (ws-echo.js does on listening).
      pm2("start", `${SERVERS_DIR}ws-echo.cjs`, "-i", String(n), "--name", "wsbench", "--wait-ready");
      const godPid = Number(readFileSync(`${dir}/pm2/pm2.pid`, "utf8"));
      await waitForWebSockets([port], null);
      return new Running({ port, collect: () => rolesOf(godPid, /PM2 v/) });
    },
  };
}

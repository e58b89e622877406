// PM2's cluster mode loads apps with require(): this CommonJS entry imports the same ESM echo server.
import("./ws-echo.js");

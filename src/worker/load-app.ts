import { pathToFileURL } from "node:url";
import type { WsfleetApp } from "../api/types.js";
import { createEchoApp } from "../apps/echo.js";
import type { Counters } from "../protocol/counters.js";
import type { WorkerSettings } from "../protocol/worker-env.js";

/** The user's module (`--app`), whose default export (or `app` export) is a WsfleetApp; else the built-in echo. */
export async function loadApp(settings: WorkerSettings, counters: Counters): Promise<WsfleetApp> {
  if (!settings.appPath) return createEchoApp(counters, settings.compression !== "off");
  const module = (await import(pathToFileURL(settings.appPath).href)) as { default?: unknown; app?: unknown };
  const app = (module.default ?? module.app) as WsfleetApp | undefined;
  if (!app || typeof app.message !== "function") {
    throw new Error(`${settings.appPath} must export a WsfleetApp (default export with a message() function)`);
  }
  return app;
}

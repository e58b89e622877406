import type { GenerationReady } from "./handover.js";

/** The new generation binds the HTTP ports (--metrics, --dashboard) once the old one lets go of them: how long it tries. */
export const HTTP_TAKEOVER_MS = 30_000;

/** Listens with `listen`; while the old generation still holds the port (EADDRINUSE), tries again until `untilMs`. */
export async function listenWhenFree<T>(listen: () => Promise<T>, untilMs: number): Promise<T> {
  for (;;) {
    try {
      return await listen();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || Date.now() > untilMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * The new primary of a `wsfleet upgrade` serves: it tells the old one (which then drains and exits) over the IPC
 * channel it was started with, and lets go of that channel, so it does not end with the old primary.
 */
export function reportReady(): void {
  const message: GenerationReady = { type: "upgrade-ready", pid: process.pid };
  process.send?.(message);
  process.disconnect?.();
}

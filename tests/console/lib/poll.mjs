// Bounded polling: what the suite does instead of sleeping while it waits for a process.
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Calls `probe` every `every` ms until it returns a value other than undefined/false, for at most `within` ms;
 * returns that value, or throws naming `what` (with the last error the probe threw).
 */
export async function until(what, probe, { within = 30_000, every = 20 } = {}) {
  const deadline = Date.now() + within;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not within ${within} ms${last ? ` (last error: ${last.message})` : ''}`);
    }
    await delay(every);
  }
}

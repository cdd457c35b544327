// Where the suite finds what it runs and where it writes: the binaries under test, the browser, the
// screenshot and log directories. Each is an environment variable with the repository's default.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The cargo target directory (`CARGO_TARGET_DIR`, else the workspace's `target/`). */
export const TARGET_DIR = resolve(process.env.CARGO_TARGET_DIR || join(ROOT, 'target'));

/** The directory holding `gridline-server` and `gridline` (`GRIDLINE_BIN_DIR`, else the debug build). */
export const BIN_DIR = resolve(process.env.GRIDLINE_BIN_DIR || join(TARGET_DIR, 'debug'));

/** The browser: Debian's chromium (`GRIDLINE_CHROMIUM` names another). */
export const CHROMIUM = process.env.GRIDLINE_CHROMIUM || '/usr/bin/chromium';

/** Screenshots of every run (`GRIDLINE_SCREENSHOT_DIR`, else `TARGET/console-screenshots`). */
export const SCREENSHOT_DIR = resolve(process.env.GRIDLINE_SCREENSHOT_DIR || join(TARGET_DIR, 'console-screenshots'));

/** The servers' output of every run, one file per test file. */
export const LOG_DIR = join(TARGET_DIR, 'console-logs');

/** Creates `dir` (and its parents) and returns it. */
export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

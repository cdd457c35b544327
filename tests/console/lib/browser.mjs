// The browser: Debian's chromium driven by playwright-core (which never downloads a browser of its own),
// headless, with no network beyond the test's loopback server. Playwright gives every launch a fresh,
// temporary `--user-data-dir` and removes it on close. Beside it: sign-in, screenshots, axe-core.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, SCREENSHOT_DIR, ensureDir } from './env.mjs';

/** The console's reference screen. */
export const VIEWPORT = { width: 1366, height: 768 };

/** How long a page or an element may take (explicit on every wait). */
export const WAIT_MS = 10_000;

/** Switches that keep Chromium off the network and quiet in a container. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium. */
export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set GRIDLINE_CHROMIUM)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** A browser context of its own (its own cookies: one signed-in account) on `server`, at 1366×768. */
export async function newContext(browser, server, { lang = 'zh-CN' } = {}) {
  const context = await browser.newContext({ baseURL: server.url, viewport: VIEWPORT, locale: lang });
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  return context;
}

/** Signs in on the sign-in page; resolves on the queue. */
export async function signIn(page, user, password) {
  await page.goto('/console/login');
  await page.locator('#user').fill(user);
  await page.locator('#password').fill(password);
  await Promise.all([
    page.waitForURL('**/console/queue', { timeout: WAIT_MS }),
    page.locator('form[action="/console/login"] button[type=submit]').click(),
  ]);
}

/** A new page of a new context, signed in as `user`. */
export async function signedInPage(browser, server, user, password, options) {
  const context = await newContext(browser, server, options);
  const page = await context.newPage();
  await signIn(page, user, password);
  return page;
}

/** Waits until the page's live-update stream is open (`body[data-live=on]`). */
export async function waitLive(page) {
  await page.locator('body[data-live="on"]').waitFor({ state: 'attached', timeout: WAIT_MS });
}

/**
 * Saves what a 1366×768 screen shows as `TARGET/console-screenshots/NAME.png` and, when the page is taller,
 * the whole page as `NAME-full.png`; returns the first path.
 */
export async function screenshot(page, name) {
  const dir = ensureDir(SCREENSHOT_DIR);
  const file = join(dir, `${name}.png`);
  // The countdowns tick every second: the picture is of one moment, which is all it needs to be.
  await page.screenshot({ path: file });
  const full = join(dir, `${name}-full.png`);
  const tall = await page.evaluate((h) => document.documentElement.scrollHeight > h, VIEWPORT.height);
  if (tall) await page.screenshot({ path: full, fullPage: true });
  else await rm(full, { force: true });
  return file;
}

const require = createRequire(import.meta.url);
let axeSource;

/**
 * Runs axe-core on the page (WCAG 2.x A and AA rules and best practices); returns the violations whose
 * impact is serious or critical, each as `{id, impact, help, nodes: [selector…]}`.
 */
export async function seriousViolations(page) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the debugging protocol: no script tag, whatever the page's own policies.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`.slice(0, 300)),
    }));
  });
  const lesser = violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
  if (lesser.length && process.env.GRIDLINE_AXE_VERBOSE) console.log(JSON.stringify(lesser, null, 2));
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Records, inside the page, when each queue row first appears (`window.__rowsSeen[id]`, ms since the epoch):
 * the live-update latency is measured against the browser's own clock of the moment the row was added.
 */
export async function watchRows(page) {
  await page.evaluate(() => {
    window.__rowsSeen = {};
    const note = () => {
      for (const tr of document.querySelectorAll('tr[data-incident]')) {
        const id = tr.dataset.incident;
        if (!(id in window.__rowsSeen)) window.__rowsSeen[id] = Date.now();
      }
    };
    note();
    new MutationObserver(note).observe(document.body, { childList: true, subtree: true });
  });
}

/** When the row of incident `id` first appeared on a watched page (ms since the epoch), or undefined. */
export async function rowSeenAt(page, id) {
  return page.evaluate((id) => window.__rowsSeen?.[id], id);
}

/** The queue row of an incident. */
export function queueRow(page, id) {
  return page.locator(`#queue-rows table.queue tr[data-incident="${id}"]`);
}

/** The stage badge on an incident's detail page. */
export function detailStage(page) {
  return page.locator('#incident dl.fields span.stage');
}

/**
 * Takes an action on an incident as the page's signed-in account without the form (to set a stage up):
 * posts what the form would, with the session's CSRF token; throws unless the console accepted it.
 */
export async function actByRequest(page, id, action, fields = {}) {
  const csrf = await page.locator('body').getAttribute('data-csrf');
  const res = await page.request.post(`/console/incidents/${id}/act`, {
    form: { action, csrf, ...fields },
    maxRedirects: 0,
  });
  if (res.status() !== 303) throw new Error(`${action} on ${id} answered ${res.status()}: ${(await res.text()).slice(0, 500)}`);
}

/**
 * Opens `url` on `page` again and again until `locator` shows, for at most WAIT_MS: a page that reads the
 * console's replica shows a phone's sync only once the replica has been fed, which happens after the sync's
 * answer, on its own thread.
 */
export async function eventually(page, url, locator) {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    await page.goto(url);
    if (await locator.count()) return;
    if (Date.now() > until) throw new Error(`${url}: never showed what was expected`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Photographs the page and fails the test `t` on any serious or critical axe violation. */
export async function checked(t, page, name) {
  t.diagnostic(`screenshot: ${await screenshot(page, name)}`);
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `axe on ${page.url()}:\n${JSON.stringify(violations, null, 2)}`);
}

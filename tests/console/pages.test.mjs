// The console's pages as a person meets them: a screenshot of each at 1366×768 (written on every run to
// TARGET/console-screenshots/), no serious or critical axe-core violation, a keyboard-only path through
// the queue and an incident, and the English toggle.
//
// A new page joins by one entry in PAGES; a page that another branch has not landed yet is `optional`
// and skips, saying so, while it answers 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { setUpCommunity, discardPhones, PASSWORD } from './lib/community.mjs';
import { writePhoto } from './lib/fixtures.mjs';
import {
  launch, newContext, signIn, signedInPage, screenshot, seriousViolations, queueRow, detailStage, actByRequest,
  WAIT_MS,
} from './lib/browser.mjs';

let server;
let browser;
let community;
let committee;
const ids = {};

/** The pages every run photographs and checks, signed in as the committee. */
const PAGES = [
  {
    name: 'queue',
    path: () => '/console/queue',
    ready: (page) => page.locator('#queue-rows table.queue tbody tr').first().waitFor({ timeout: WAIT_MS }),
  },
  {
    name: 'incident',
    path: () => `/console/incidents/${ids.photographed}`,
    ready: async (page) => {
      await page.locator('#incident form.act button[name=action]').first().waitFor({ timeout: WAIT_MS });
      await photosLoaded(page);
    },
  },
  {
    name: 'dashboard',
    path: () => '/console/dashboard',
    optional: true,
    ready: (page) => page.locator('main h1').first().waitFor({ timeout: WAIT_MS }),
  },
];

/** Waits until every photo of the page has loaded (they are lazy: scroll them into view first). */
async function photosLoaded(page) {
  for (const img of await page.locator('img').all()) {
    await img.scrollIntoViewIfNeeded();
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle(), { timeout: WAIT_MS });
  }
  await page.evaluate(() => window.scrollTo(0, 0));
}

before(async () => {
  server = await startServer('pages');
  browser = await launch();
  community = await setUpCommunity(server, {
    name: '幸福社区',
    grids: ['G01', 'G02', 'G03'],
    staff: [
      { user: 'committee1', role: 'committee' },
      { user: 'station1', role: 'station' },
    ],
    phones: [
      { user: '王网格长', grids: ['G01', 'G02'] },
      { user: '赵网格长', grids: ['G03'] },
    ],
  });
  const wang = community.phones['王网格长'];
  const zhao = community.phones['赵网格长'];
  const [g1, g2, g3] = [community.households.G01, community.households.G02, community.households.G03];
  const lamp = join(server.data, 'lamp.png');
  const stairs = join(server.data, 'stairs.png');
  await writePhoto(lamp, [230, 170, 40]);
  await writePhoto(stairs, [90, 140, 200]);
  ids.photographed = await wang.report({
    household: g1[0], title: '3号楼楼道灯不亮', description: '一楼到三楼的声控灯都不亮了，老人晚上下楼不方便。',
    photos: [lamp, stairs],
  });
  ids.keyboard = await wang.report({ household: g1[1], category: 'environment', title: '小区东门垃圾堆放' });
  ids.urgent = await wang.report({ household: g2[0], category: 'safety_hazard', severity: 'urgent', title: '2单元闻到燃气味' });
  // Two days old on the phone's clock: its committee review is overdue.
  const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000).toISOString();
  ids.overdue = await zhao.report({
    household: g3[0], category: 'neighbour_dispute', title: '楼上装修噪音扰民', now: twoDaysAgo,
  });
  ids.dispatched = await zhao.report({ household: g3[1], category: 'parking_traffic', title: '消防通道被私家车占用' });
  await wang.sync();
  await zhao.sync();
  committee = await signedInPage(browser, server, 'committee1', PASSWORD);
  await actByRequest(committee, ids.dispatched, 'dispatch', { note: '请工作站联系物业。' });
  const station = await signedInPage(browser, server, 'station1', PASSWORD);
  await actByRequest(station, ids.dispatched, 'verify', { assignee: '物业 老周' });
  await station.context().close();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await discardPhones(community);
});

for (const p of PAGES) {
  test(`${p.name}: a screenshot at 1366×768 and no serious or critical axe violation`, async (t) => {
    const response = await committee.goto(p.path());
    if (p.optional && response.status() === 404) {
      t.skip(`${p.path()} answers 404: the ${p.name} is not in this build yet`);
      return;
    }
    assert.equal(response.status(), 200);
    await p.ready(committee);
    const file = await screenshot(committee, p.name);
    t.diagnostic(`screenshot: ${file}`);
    const violations = await seriousViolations(committee);
    assert.deepEqual(violations, [], `axe on ${p.path()}:\n${JSON.stringify(violations, null, 2)}`);
  });
}

test('the queue shows every open incident with its stage, severity and overdue mark', async () => {
  await committee.goto('/console/queue');
  for (const id of [ids.photographed, ids.keyboard, ids.overdue]) {
    await queueRow(committee, id).locator('span.stage-committee_review').waitFor({ timeout: WAIT_MS });
  }
  await queueRow(committee, ids.urgent).locator('.badge.urgent').waitFor({ timeout: WAIT_MS });
  await queueRow(committee, ids.dispatched).locator('span.stage-in_progress').waitFor({ timeout: WAIT_MS });
  await queueRow(committee, ids.overdue).locator('.badge.overdue').waitFor({ timeout: WAIT_MS });
  assert.match(await queueRow(committee, ids.overdue).getAttribute('class'), /\boverdue\b/);
  // Nearest deadline first: the overdue one leads.
  const first = await committee.locator('#queue-rows tbody tr').first().getAttribute('data-incident');
  assert.equal(first, ids.overdue);
});

test('keyboard only: Tab to an incident, Enter, Tab to the note and to 分流, Enter: the stage changes', async () => {
  const page = await signedInPage(browser, server, 'committee1', PASSWORD);
  await page.goto('/console/queue');
  await queueRow(page, ids.keyboard).waitFor({ timeout: WAIT_MS });
  const link = `/console/incidents/${ids.keyboard}`;

  /** Presses Tab until `matches(activeElement)` holds, at most `limit` times; returns the presses. */
  async function tabTo(what, matches, arg, limit = 80) {
    for (let n = 1; n <= limit; n++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(matches, arg)) return n;
    }
    throw new Error(`${what}: not reached with ${limit} presses of Tab`);
  }

  await tabTo('the incident link', (href) => document.activeElement?.getAttribute('href') === href, link);
  // The focused link shows where the focus is.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused link has no visible focus outline');
  await Promise.all([page.waitForURL(`**${link}`, { timeout: WAIT_MS }), page.keyboard.press('Enter')]);
  await detailStage(page).and(page.locator('.stage-committee_review')).waitFor({ timeout: WAIT_MS });

  await tabTo('the note', () => document.activeElement?.id === 'note');
  await page.keyboard.type('键盘操作：请工作站处理。');
  await tabTo('the 分流 button', () => document.activeElement?.tagName === 'BUTTON'
    && document.activeElement.textContent.trim() === '分流');
  await Promise.all([
    page.waitForURL(/\?done=1$/, { timeout: WAIT_MS }),
    page.keyboard.press('Enter'),
  ]);
  await detailStage(page).and(page.locator('.stage-at_station')).waitFor({ timeout: WAIT_MS });
  await page.locator('ol.history li.applied', { hasText: '键盘操作：请工作站处理。' }).waitFor({ timeout: WAIT_MS });
  await page.context().close();
});

test('the English toggle shows the action names in English on the incident page', async (t) => {
  const context = await newContext(browser, server);
  const page = await context.newPage();
  await signIn(page, 'committee1', PASSWORD);
  await page.goto(`/console/incidents/${ids.photographed}`);
  const zh = await page.locator('#incident button[name=action]').allTextContents();
  assert.deepEqual(zh, ['分流', '就地办结', '退回补充', '驳回', '评论']);

  await Promise.all([
    page.waitForURL(`**/console/incidents/${ids.photographed}`, { timeout: WAIT_MS }),
    page.getByRole('link', { name: 'English', exact: true }).click(),
  ]);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  const en = await page.locator('#incident button[name=action]').allTextContents();
  assert.deepEqual(en, ['Dispatch', 'Settle locally', 'Return for information', 'Reject', 'Comment']);
  await page.getByLabel('Note', { exact: true }).waitFor({ timeout: WAIT_MS });
  await photosLoaded(page);
  t.diagnostic(`screenshot: ${await screenshot(page, 'incident-en')}`);
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));

  // And back.
  await Promise.all([
    page.waitForURL(`**/console/incidents/${ids.photographed}`, { timeout: WAIT_MS }),
    page.getByRole('link', { name: '中文', exact: true }).click(),
  ]);
  assert.deepEqual(await page.locator('#incident button[name=action]').allTextContents(), zh);
  await context.close();
});

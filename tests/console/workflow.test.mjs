// The console's whole path through one incident workflow (PRODUCT.md §4), browser and phone together:
// first-admin setup through the printed link, accounts and roster by the admin commands, a grid leader's
// phone reporting a normal and an urgent incident, both appearing in a committee page already open (live,
// no reload), the committee dispatching, the station verifying and resolving, the phone seeing each stage
// and evaluating, and the console showing the incidents closed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { setUpCommunity, discardPhones, PASSWORD } from './lib/community.mjs';
import {
  launch, newContext, signedInPage, waitLive, watchRows, rowSeenAt, queueRow, detailStage, screenshot, WAIT_MS,
} from './lib/browser.mjs';

/** How long a synced incident may take to reach an open queue page. */
const LIVE_WITHIN_MS = 10_000;

let server;
let browser;
let community;

before(async () => {
  server = await startServer('workflow');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await discardPhones(community);
});

/** Clicks an action button of the incident page (by its word) and waits for the saved page. */
async function act(page, word, { note, assignee } = {}) {
  if (note !== undefined) await page.getByLabel('说明').fill(note);
  if (assignee !== undefined) await page.getByLabel('指派给').fill(assignee);
  await Promise.all([
    page.waitForURL(/\/console\/incidents\/[^/?]+\?done=1$/, { timeout: WAIT_MS }),
    page.getByRole('button', { name: word, exact: true }).click(),
  ]);
  await page.locator('#incident p.ok[role=status]').waitFor({ timeout: WAIT_MS });
}

/** Syncs the phone and returns its view of an incident, which must have reached `stage`. */
async function phoneSees(phone, id, stage) {
  await phone.sync();
  const shown = await phone.show(id);
  assert.equal(shown.stage, stage, `the phone sees ${id} in ${shown.stage}, not ${stage}`);
  return shown;
}

/** The applied events' actions of a phone's view of an incident. */
const applied = (shown) => shown.events.filter((e) => e.applied).map((e) => e.action);

test('setup, report on a phone, live queue, dispatch, verify, resolve, evaluate: the console shows it closed', async (t) => {
  // First start: the printed one-time link sets up the community and its administrator in the browser.
  const link = await server.setupLink();
  const adminContext = await newContext(browser, server);
  const admin = await adminContext.newPage();
  await admin.goto(link);
  await admin.getByLabel('社区名称').fill('幸福社区');
  assert.equal(await admin.getByLabel('时区').inputValue(), 'Asia/Shanghai');
  await admin.locator('#user').fill('admin');
  await admin.locator('#password').fill(PASSWORD);
  t.diagnostic(`screenshot: ${await screenshot(admin, 'setup')}`);
  await Promise.all([
    admin.waitForURL('**/console/queue', { timeout: WAIT_MS }),
    admin.getByRole('button', { name: '创建管理员' }).click(),
  ]);
  await assert.doesNotReject(admin.locator('header .who strong', { hasText: 'admin' }).waitFor({ timeout: WAIT_MS }));
  // The link is used up.
  const again = await admin.request.get(link);
  assert.equal(again.status(), 403, 'the setup link works only once');

  // The administrator's accounts, roster and a grid leader's phone, by the admin commands.
  const accounts = await server.admin(['staff', 'list']);
  const communityId = accounts.items.find((s) => s.user === 'admin')?.community_id;
  assert.ok(communityId, `the setup made no community: ${JSON.stringify(accounts)}`);
  community = await setUpCommunity(server, {
    id: communityId,
    grids: ['G03', 'G04'],
    staff: [
      { user: 'committee1', role: 'committee' },
      { user: 'station1', role: 'station' },
    ],
    phones: [{ user: '王网格长', grids: ['G03'] }],
  });
  const phone = community.phones['王网格长'];
  assert.equal(phone.device.role, 'grid_leader');

  // A committee page is open and live before the phone syncs.
  const committee = await signedInPage(browser, server, 'committee1', PASSWORD);
  await waitLive(committee);
  await committee.evaluate(() => {
    window.__sameDocument = true;
  });
  await watchRows(committee);

  const [h1, h2] = community.households.G03;
  const normal = await phone.report({
    household: h1, category: 'facility_repair', title: '3号楼楼道灯不亮', description: '一楼到三楼的声控灯都不亮了。',
  });
  const urgent = await phone.report({
    household: h2, category: 'safety_hazard', severity: 'urgent', title: '2单元闻到燃气味',
  });
  const startedAt = Date.now();
  const { endedAt } = await phone.sync();

  for (const [id, what] of [[normal, 'normal'], [urgent, 'urgent']]) {
    await queueRow(committee, id).waitFor({ timeout: LIVE_WITHIN_MS });
    const seenAt = await rowSeenAt(committee, id);
    assert.ok(seenAt, `the ${what} incident's row was not recorded`);
    // Negative: the row was there before the CLI had exited (the server announces a document as soon as it
    // stored it, while the sync goes on with its last round trip and the CLI with closing its store).
    const figures = `${seenAt - endedAt} ms after the sync ended (${seenAt - startedAt} ms after it started, `
      + `the sync took ${endedAt - startedAt} ms)`;
    t.diagnostic(`live update: the ${what} incident's row appeared ${figures}`);
  }
  assert.equal(await committee.evaluate(() => window.__sameDocument), true, 'the queue page reloaded');
  await queueRow(committee, normal).locator('span.stage-committee_review').waitFor({ timeout: WAIT_MS });
  await queueRow(committee, urgent).locator('span.stage-at_station').waitFor({ timeout: WAIT_MS });
  await queueRow(committee, urgent).locator('.badge.urgent').waitFor({ timeout: WAIT_MS });

  // The committee dispatches the normal one (分流) from the queue.
  await Promise.all([
    committee.waitForURL(`**/console/incidents/${normal}`, { timeout: WAIT_MS }),
    queueRow(committee, normal).getByRole('link', { name: '3号楼楼道灯不亮' }).click(),
  ]);
  await act(committee, '分流', { note: '请工作站派物业维修。' });
  await detailStage(committee).and(committee.locator('.stage-at_station')).waitFor({ timeout: WAIT_MS });
  await phoneSees(phone, normal, 'at_station');

  // The station verifies and assigns (核准并指派), then resolves (办结), both incidents.
  const station = await signedInPage(browser, server, 'station1', PASSWORD);
  for (const id of [normal, urgent]) {
    await station.goto(`/console/incidents/${id}`);
    if (id === urgent) {
      t.diagnostic(`screenshot: ${await screenshot(station, 'incident-station')}`);
      // A superseded event says why in words; the code is only the hover text.
      for (const reason of await station.locator('ol.history li.superseded span.muted').allTextContents()) {
        assert.doesNotMatch(reason.trim(), /^[a-z_]+$/, 'a superseded reason shows as its code');
      }
    }
    await act(station, '核准并指派', { assignee: '物业维修班 老周', note: '今天下午处理。' });
    await detailStage(station).and(station.locator('.stage-in_progress')).waitFor({ timeout: WAIT_MS });
    await station.locator('dl.fields dd', { hasText: '物业维修班 老周' }).waitFor({ timeout: WAIT_MS });
    if (id === normal) await phoneSees(phone, normal, 'in_progress');
    await act(station, '办结', { note: '已更换灯泡。' });
    await detailStage(station).and(station.locator('.stage-resolved')).waitFor({ timeout: WAIT_MS });
    if (id === normal) await phoneSees(phone, normal, 'resolved');
  }
  const urgentOnPhone = await phoneSees(phone, urgent, 'resolved');
  assert.deepEqual(applied(urgentOnPhone), ['report', 'verify', 'resolve']);
  const normalOnPhone = await phone.show(normal);
  assert.deepEqual(applied(normalOnPhone), ['report', 'receive', 'dispatch', 'verify', 'resolve']);
  const roles = Object.fromEntries(normalOnPhone.events.map((e) => [e.action, e.role]));
  assert.equal(roles.dispatch, 'committee');
  assert.equal(roles.verify, 'station');

  // The station watches the normal incident while the phone evaluates both (satisfied) and syncs.
  await station.goto(`/console/incidents/${normal}`);
  await waitLive(station);
  await station.evaluate(() => {
    window.__sameDocument = true;
  });
  for (const id of [normal, urgent]) {
    const evaluated = await phone.act(id, 'evaluate', ['--satisfied', 'yes']);
    assert.equal(evaluated.stage, 'closed');
  }
  await phone.sync();
  await detailStage(station).and(station.locator('.stage-closed')).waitFor({ timeout: LIVE_WITHIN_MS });
  assert.equal(await station.evaluate(() => window.__sameDocument), true, 'the incident page reloaded');
  await station.locator('ol.history li.applied', { hasText: '评价' }).waitFor({ timeout: WAIT_MS });
  t.diagnostic(`screenshot: ${await screenshot(station, 'incident-closed')}`);
  const offered = await station.locator('#incident button[name=action]').allTextContents();
  assert.deepEqual(offered, ['评论'], 'a closed incident offers only a comment');

  // The queue: neither is open any more; both show closed among all incidents.
  await committee.goto('/console/queue');
  await committee.locator('#queue-rows').waitFor({ timeout: WAIT_MS });
  assert.equal(await queueRow(committee, normal).count(), 0, 'a closed incident is still in the open queue');
  assert.equal(await queueRow(committee, urgent).count(), 0, 'a closed incident is still in the open queue');
  await committee.goto('/console/queue?stage=closed');
  for (const id of [normal, urgent]) {
    await queueRow(committee, id).locator('span.stage-closed').waitFor({ timeout: WAIT_MS });
  }
});

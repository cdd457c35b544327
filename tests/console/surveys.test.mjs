// The two-way evaluation (双评议) in the console (PRODUCT.md §2.11, §4b): a grid leader's phone surveys two
// households (`gridline survey record`) and syncs; the committee's page shows the year's survey — households
// surveyed and each item's average, per grid and for the community — and records a department's rating
// (部门评议), which the table then shows with its average; a rating without a name is refused in words and
// changes nothing; the street office reads the page but is offered no form; the page reads in English too.
// Each page is photographed and checked with axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { setUpCommunity, discardPhones, PASSWORD } from './lib/community.mjs';
import { checked, eventually, launch, newContext, signedInPage, signIn, WAIT_MS } from './lib/browser.mjs';

let server;
let browser;
let community;
let leader;
let committee;

before(async () => {
  server = await startServer('surveys');
  browser = await launch();
  community = await setUpCommunity(server, {
    name: '幸福社区',
    grids: ['G05'],
    staff: [
      { user: 'committee1', role: 'committee' },
      { user: 'street1', role: 'street' },
    ],
    phones: [{ user: '王网格长', grids: ['G05'] }],
  });
  leader = community.phones['王网格长'];
  committee = await signedInPage(browser, server, 'committee1', PASSWORD);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await discardPhones(community);
});

const cells = async (row) => (await row.locator('th, td').allTextContents()).map((c) => c.trim());

test('surveys recorded on a phone show per grid and item; the committee rates a department', async (t) => {
  const [first, second] = community.households.G05;
  await leader.cli(['survey', 'record', '--household', first, '--answers', '5,5,5,5,5,5,5,5,5,5']);
  await leader.cli(['survey', 'record', '--household', second, '--answers', '3,4,4,4,4,4,4,4,4,4']);
  await assert.rejects(
    leader.cli(['survey', 'record', '--household', first, '--answers', '1,1,1,1,1,1,1,1,1,1']),
    /already_surveyed/,
  );
  await leader.sync();

  // The page reads the console's replica, which is fed from the server's writes after the sync's answer.
  const total = committee.locator('#survey-summary tr[data-grid="全社区"]');
  await eventually(committee, '/console/surveys', total);
  const year = String(new Date().getFullYear());
  assert.match(await committee.locator('h1').textContent(), new RegExp(year));
  // Households, duplicates, the average, then the ten items (环境卫生 first).
  assert.deepEqual((await cells(total)).slice(0, 5), ['全社区', '2', '0', '4.45', '4.00']);
  assert.deepEqual((await cells(committee.locator('#survey-summary tr[data-grid="G05"]'))).slice(0, 4), ['G05', '2', '0', '4.45']);
  assert.equal((await committee.locator('#survey-summary thead th').nth(4).textContent()).trim(), '环境卫生');
  await committee.locator('#department-ratings').waitFor({ state: 'detached', timeout: WAIT_MS });
  await checked(t, committee, 'surveys');

  // A rating without the department's name is refused in words; nothing is recorded.
  await committee.getByRole('button', { name: '提交评议' }).click();
  // The browser's own check keeps an empty required field from being sent: send a blank name instead.
  await committee.locator('#rate-department').fill('   ');
  await committee.getByRole('button', { name: '提交评议' }).click();
  await committee.locator('p.error[role=alert]', { hasText: '请填写部门名称' }).waitFor({ timeout: WAIT_MS });
  assert.equal(await committee.locator('#department-ratings').count(), 0);

  await committee.locator('#rate-department').fill('区民政局');
  for (let n = 0; n < 9; n += 1) await committee.locator(`#rate-score-${n}`).selectOption('5');
  await committee.locator('#rate-score-9').selectOption('4');
  await Promise.all([
    committee.waitForURL(/\/console\/surveys\?year=\d+&rated=/, { timeout: WAIT_MS }),
    committee.getByRole('button', { name: '提交评议' }).click(),
  ]);
  await committee.locator('p.outcome[role=status]', { hasText: '区民政局' }).waitFor({ timeout: WAIT_MS });
  const row = committee.locator('#department-ratings tr[data-department="区民政局"]');
  await row.waitFor({ timeout: WAIT_MS });
  const shown = await cells(row);
  assert.deepEqual(shown.slice(0, 2), ['区民政局', '4.90']);
  assert.deepEqual(shown.slice(2, 12), ['5', '5', '5', '5', '5', '5', '5', '5', '5', '4']);
  assert.equal(shown[12], '0', 'no rating replaced yet');
  await checked(t, committee, 'surveys-rated');

  // The phone reads the same through the core: `department report` and `survey report`.
  await leader.sync();
  const departments = await leader.cli(['department', 'report', '--year', year]);
  assert.deepEqual(departments.departments.map((d) => [d.department, d.average]), [['区民政局', 4.9]]);
  const report = await leader.cli(['survey', 'report', '--year', year]);
  assert.equal(report.households_surveyed, 2);
  assert.equal(report.average, 4.45);
});

test('the street office reads the evaluations but rates no department; the page reads in English', async (t) => {
  const context = await newContext(browser, server);
  const street = await context.newPage();
  await signIn(street, 'street1', PASSWORD);
  await street.goto('/console/surveys');
  await street.locator('#department-ratings tr[data-department="区民政局"]').waitFor({ timeout: WAIT_MS });
  assert.equal(await street.locator('form.rate').count(), 0);
  await street.locator('p.muted', { hasText: '只有社居委和社区工作站可以评议部门' }).waitFor({ timeout: WAIT_MS });
  await street.getByRole('link', { name: 'English', exact: true }).click();
  await street.locator('html[lang="en"]').waitFor({ state: 'attached', timeout: WAIT_MS });
  assert.equal((await street.locator('h1').textContent()).trim().split(' ')[0], 'Two-way');
  assert.equal((await street.locator('#survey-summary thead th').nth(4).textContent()).trim(), 'Environment and sanitation');
  await checked(t, street, 'surveys-en');
  await context.close();
});

// The needs list (问题清单) and service projects (项目化, 民事民评) in the console, browser and phones together:
// a grid leader's phone records visits with needs, and the needs page counts them by category and building,
// each with its chart and table; the committee creates a project for two needs on the projects page, moves it
// to 实施中 and 已结项 (a move the table does not allow is not offered), the grid leader's phone rates it for
// two households — one of them twice — and the project page shows the ratings, the replaced one marked, and
// the average of the two that stand. A street account sees the projects but may not create or move one.
// Each page is photographed and checked with axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { setUpCommunity, discardPhones, PASSWORD } from './lib/community.mjs';
import { checked, eventually, launch, signedInPage, WAIT_MS } from './lib/browser.mjs';

let server;
let browser;
let community;
let leader;
let committee;
let street;
const ids = {};

before(async () => {
  server = await startServer('projects');
  browser = await launch();
  community = await setUpCommunity(server, {
    name: '幸福社区',
    grids: ['G03'],
    staff: [
      { user: 'committee1', role: 'committee' },
      { user: 'street1', role: 'street' },
    ],
    phones: [{ user: '王网格长', grids: ['G03'] }],
  });
  leader = community.phones['王网格长'];
  committee = await signedInPage(browser, server, 'committee1', PASSWORD);
  street = await signedInPage(browser, server, 'street1', PASSWORD);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await discardPhones(community);
});

test('needs found on visits are counted by category and by building, each with a chart and its table', async (t) => {
  const [h1, h2] = community.households.G03;
  await leader.cli(['visit', 'record', '--household', h1, '--kind', 'home', '--need-tags', 'meal_delivery,companionship']);
  await leader.cli(['visit', 'record', '--household', h2, '--kind', 'home', '--need-tags', 'meal_delivery']);
  await leader.sync();
  const phone = await leader.cli(['needs', 'list']);
  assert.deepEqual(phone.items.map((n) => [n.need, n.households]), [['meal_delivery', 2], ['companionship', 1]]);

  const meal = committee.locator('#needs-by-category tr[data-need="meal_delivery"]');
  await eventually(committee, '/console/needs', meal);
  assert.equal(await meal.getAttribute('data-households'), '2');
  assert.match(await meal.textContent(), /上门送餐/);
  const figures = committee.locator('figure svg[role=img]');
  assert.equal(await figures.count(), 2, 'a chart by category and one by building');
  assert.match(await figures.first().getAttribute('aria-label'), /各类需求涉及户数/);
  const building = committee.locator('#needs-by-building tr[data-building="G03/1"]');
  assert.equal(await building.getAttribute('data-total'), '3', 'two households need meals, one company');
  await checked(t, committee, 'needs');
  // The English toggle names the same figures in English.
  await committee.goto('/console/lang?to=en&back=%2Fconsole%2Fneeds');
  await committee.locator('h1', { hasText: 'Needs list' }).waitFor({ timeout: WAIT_MS });
  assert.match(await meal.textContent(), /Meal delivery/i);
  await committee.goto('/console/lang?to=zh&back=%2Fconsole%2Fneeds');
  await committee.locator('h1', { hasText: '问题清单' }).waitFor({ timeout: WAIT_MS });
});

test('the committee creates a project for two needs and runs it to done', async (t) => {
  await committee.goto('/console/projects');
  await committee.getByLabel('项目', { exact: true }).fill('长者助餐与陪伴');
  await committee.getByLabel('类别', { exact: true }).fill('elderly_care');
  await committee.getByLabel('承接机构').fill('阳光社工服务中心');
  await committee.getByLabel('预算（元）').fill('80000');
  await committee.locator('input[name=needs][value=meal_delivery]').check();
  await committee.locator('input[name=needs][value=companionship]').check();
  await checked(t, committee, 'projects');
  await Promise.all([
    committee.waitForURL(/\/console\/projects\/[^/?]+\?done=1$/, { timeout: WAIT_MS }),
    committee.getByRole('button', { name: '创建' }).click(),
  ]);
  ids.project = new URL(committee.url()).pathname.split('/').pop();
  await committee.locator('#project[data-status="planned"]').waitFor({ timeout: WAIT_MS });
  assert.deepEqual(await committee.locator('#project button[name=status]').allTextContents(), ['实施中']);

  for (const [word, status] of [['实施中', 'active'], ['已结项', 'done']]) {
    await Promise.all([
      committee.waitForURL(/\?done=1$/, { timeout: WAIT_MS }),
      committee.getByRole('button', { name: word, exact: true }).click(),
    ]);
    await committee.locator(`#project[data-status="${status}"]`).waitFor({ timeout: WAIT_MS });
  }
  assert.equal(await committee.locator('#project button[name=status]').count(), 0, 'done is final');

  // The street office reads it but neither creates nor moves projects.
  await street.goto(`/console/projects/${ids.project}`);
  await street.locator('#project[data-status="done"]').waitFor({ timeout: WAIT_MS });
  assert.equal(await street.locator('#project button[name=status]').count(), 0);
  await street.goto('/console/projects');
  assert.equal(await street.locator('#create-project').count(), 0);
});

test('residents rate it on the phone: the later rating of a household replaces its first', async (t) => {
  const [h1, h2] = community.households.G03;
  await leader.sync();
  await leader.cli(['project', 'evaluate', ids.project, '--household', h1, '--rating', '2']);
  await leader.cli(['project', 'evaluate', ids.project, '--household', h2, '--rating', '4']);
  await new Promise((r) => setTimeout(r, 5));
  const shown = await leader.cli(['project', 'evaluate', ids.project, '--household', h1, '--rating', '5', '--note', '很满意']);
  assert.deepEqual([shown.ratings.count, shown.ratings.average], [2, 4.5]);
  await leader.sync();

  const url = `/console/projects/${ids.project}`;
  await eventually(committee, url, committee.locator('#rating-count', { hasText: '2' }));
  assert.equal((await committee.locator('#rating-average').textContent()).trim(), '4.50');
  assert.equal(await committee.locator('#ratings tr[data-state="replaced"]').count(), 1);
  assert.equal(await committee.locator('#ratings tr[data-state="stands"]').count(), 2);
  await checked(t, committee, 'project');
  const list = committee.locator(`#projects tr[data-project="${ids.project}"]`);
  await committee.goto('/console/projects');
  assert.match(await list.textContent(), /4\.50/);

  // The needs list links both needs to the project.
  await committee.goto('/console/needs');
  const link = committee.locator(`#needs-by-category tr[data-need="companionship"] a[href="/console/projects/${ids.project}"]`);
  await link.waitFor({ timeout: WAIT_MS });
});

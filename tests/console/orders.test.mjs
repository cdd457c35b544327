// Service orders and the love supermarket in the console (PRODUCT.md §4b, §6), browser and phones together:
// a grid leader's phone orders meal delivery, the order appears in a committee page already open (live), the
// committee dispatches it (派单) to an enrolled volunteer from the order page and sees 已派单; the volunteer's
// phone receives it, accepts and marks it done, the grid leader rates it, and the volunteer's points reach the
// supermarket counter; a station raises a stock and adds an item on the configuration page (a bad value and
// a stale page refused), records a redemption and sees the new balance, and one that would overdraw is
// refused in words with the balance unchanged. Each page is photographed and checked with axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { setUpCommunity, discardPhones, PASSWORD } from './lib/community.mjs';
import { Phone } from './lib/phone.mjs';
import { checked, launch, newContext, signedInPage, signIn, WAIT_MS, waitLive } from './lib/browser.mjs';

/** How long a synced order may take to reach an open page. */
const LIVE_WITHIN_MS = 10_000;

let server;
let browser;
let community;
let leader;
let volunteer;
let committee;
let station;
const volunteers = [];
const ids = {};

before(async () => {
  server = await startServer('orders');
  browser = await launch();
  community = await setUpCommunity(server, {
    name: '幸福社区',
    grids: ['G03'],
    staff: [
      { user: 'committee1', role: 'committee' },
      { user: 'station1', role: 'station' },
    ],
    phones: [{ user: '王网格长', grids: ['G03'] }],
  });
  leader = community.phones['王网格长'];
  for (const user of ['李志愿', '张志愿']) {
    const code = await server.enrollmentCode({ community: community.id, user, role: 'volunteer' });
    const phone = await Phone.enroll(server, code, user);
    assert.equal(phone.device.role, 'volunteer');
    await phone.sync();
    volunteers.push(phone);
  }
  volunteer = volunteers[0];
  committee = await signedInPage(browser, server, 'committee1', PASSWORD);
  station = await signedInPage(browser, server, 'station1', PASSWORD);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await discardPhones(community);
  for (const p of volunteers) await p.discard();
});

/** The queue row of an order. */
const orderRow = (page, id) => page.locator(`#order-rows table.orders tr[data-order="${id}"]`);
/** The stage badge of the order page. */
const orderStage = (page) => page.locator('#order dl.fields span.stage');

/** A phone's view of an order (`service show`). */
const show = (phone, id) => phone.cli(['service', 'show', id]);

test('an order requested on a phone appears live; the committee dispatches it (派单) and sees 已派单', async (t) => {
  await committee.goto('/console/orders');
  await waitLive(committee);
  await committee.evaluate(() => {
    window.__sameDocument = true;
  });
  const household = community.households.G03[0];
  ids.order = (await leader.cli([
    'service', 'request', '--household', household, '--resident', '王秀英', '--service', 'meal_delivery',
    '--note', '老人行动不便，请中午送餐上门。',
  ])).order_id;
  assert.ok(ids.order, 'service request printed no order id');
  await leader.sync();

  await orderRow(committee, ids.order).locator('span.stage-requested').waitFor({ timeout: LIVE_WITHIN_MS });
  assert.equal(await committee.evaluate(() => window.__sameDocument), true, 'the order queue reloaded');
  assert.match(await orderRow(committee, ids.order).textContent(), /上门送餐/);
  await committee.locator('#order-rows [data-stage-count="requested"] strong', { hasText: '1' }).waitFor({ timeout: WAIT_MS });
  await checked(t, committee, 'orders');

  await Promise.all([
    committee.waitForURL(`**/console/orders/${ids.order}`, { timeout: WAIT_MS }),
    orderRow(committee, ids.order).getByRole('link', { name: '上门送餐' }).click(),
  ]);
  await orderStage(committee).and(committee.locator('.stage-requested')).waitFor({ timeout: WAIT_MS });
  await committee.locator('#order dl.fields dd', { hasText: '王秀英' }).waitFor({ timeout: WAIT_MS });
  const offered = await committee.locator('#order button[name=action]').allTextContents();
  assert.deepEqual(offered, ['派单', '取消', '备注']);
  // Only the community's enrolled volunteers are offered.
  const choices = await committee.locator('#volunteer option').allTextContents();
  assert.deepEqual(choices.slice(1).sort(), ['张志愿', '李志愿']);
  await checked(t, committee, 'order');

  // A dispatch without a volunteer is refused in words; the order stays requested.
  await committee.getByRole('button', { name: '派单', exact: true }).click();
  await committee.locator('#order p.error[role=alert]').waitFor({ timeout: WAIT_MS });
  await orderStage(committee).and(committee.locator('.stage-requested')).waitFor({ timeout: WAIT_MS });

  const due = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  await committee.locator('#volunteer').selectOption('李志愿');
  await committee.locator('#due').fill(due);
  await committee.getByLabel('说明').fill('请李志愿今天中午送餐。');
  await Promise.all([
    committee.waitForURL(/\/console\/orders\/[^/?]+\?done=1$/, { timeout: WAIT_MS }),
    committee.getByRole('button', { name: '派单', exact: true }).click(),
  ]);
  await orderStage(committee).and(committee.locator('.stage-dispatched')).waitFor({ timeout: WAIT_MS });
  assert.equal((await orderStage(committee).textContent()).trim(), '已派单');
  assert.equal((await committee.locator('#order dd.volunteer').textContent()).trim(), '李志愿');
  await committee.locator('#order dl.fields time', { hasText: due }).waitFor({ timeout: WAIT_MS });
  await committee.locator('ol.history li.applied', { hasText: '请李志愿今天中午送餐。' }).waitFor({ timeout: WAIT_MS });
  assert.deepEqual(await committee.locator('#order button[name=action]').allTextContents(), ['取消', '备注']);

  // In English: the stage and the action names.
  const context = await newContext(browser, server);
  const english = await context.newPage();
  await signIn(english, 'committee1', PASSWORD);
  await english.goto(`/console/orders/${ids.order}`);
  await english.getByRole('link', { name: 'English', exact: true }).click();
  await english.locator('html[lang="en"]').waitFor({ state: 'attached', timeout: WAIT_MS });
  assert.equal((await orderStage(english).textContent()).trim(), 'Dispatched');
  assert.deepEqual(await english.locator('#order button[name=action]').allTextContents(), ['Cancel', 'Comment']);
  await checked(t, english, 'order-en');
  await context.close();

  // The volunteer's phone receives the order dispatched to it, with the resident's name and address; the
  // other volunteer's does not.
  await volunteer.sync();
  const onPhone = await show(volunteer, ids.order);
  assert.equal(onPhone.stage, 'dispatched');
  assert.equal(onPhone.volunteer, '李志愿');
  await volunteers[1].sync();
  await assert.rejects(show(volunteers[1], ids.order), 'another volunteer holds the order');
});

test('the configuration page saves a new stock and an item; a bad value and a stale page are refused', async (t) => {
  await station.goto('/console/config');
  const towelStock = station.locator('input[name$="-stock"][aria-label$=" towel"]');
  assert.equal(await towelStock.inputValue(), '50');
  await checked(t, station, 'config');

  // A stale page: another tab saves first.
  const other = await station.context().newPage();
  await other.goto('/console/config');

  await towelStock.fill('60');
  await station.getByLabel('新增商品: 编码').fill('soap');
  await station.getByLabel('新增商品: 中文名称').fill('香皂');
  await station.getByLabel('新增商品: 英文名称').fill('Soap');
  await station.getByLabel('新增商品: 所需积分').fill('4');
  await station.getByLabel('新增商品: 累计入库').fill('10');
  await Promise.all([
    station.waitForURL('**/console/config?saved=1', { timeout: WAIT_MS }),
    station.getByRole('button', { name: '保存配置' }).click(),
  ]);
  await station.locator('p.ok[role=status]').waitFor({ timeout: WAIT_MS });
  assert.equal(await station.locator('input[name$="-stock"][aria-label$=" towel"]').inputValue(), '60');
  assert.equal(await station.locator('input[name$="-price"][aria-label$=" soap"]').inputValue(), '4');

  const stale = await other.request.post('/console/config', {
    form: await formOf(other),
    maxRedirects: 0,
  });
  assert.equal(stale.status(), 409, 'a page opened before the save is refused');
  assert.match(await stale.text(), /已被他人修改/);

  // A bad value (a price of 0 points, which the shared validation refuses): nothing saved, the words name
  // the item and the field.
  await station.goto('/console/config');
  await station.locator('input[name$="-price"][aria-label$=" soap"]').fill('0');
  await station.getByRole('button', { name: '保存配置' }).click();
  const refusal = station.locator('p.error[role=alert]', { hasText: '配置有误' });
  await refusal.waitFor({ timeout: WAIT_MS });
  assert.match(await refusal.textContent(), /爱心超市商品「soap」price_points/);
  await checked(t, station, 'config-refused');
  await station.goto('/console/config');
  assert.equal(await station.locator('input[name$="-price"][aria-label$=" soap"]').inputValue(), '4');
  await other.close();

  // The counter shows the new stock.
  await station.goto('/console/shop');
  await station.locator('#shop-items tr[data-item="towel"] td.left', { hasText: '60' }).waitFor({ timeout: WAIT_MS });
  await station.locator('#shop-items tr[data-item="soap"] td.left', { hasText: '10' }).waitFor({ timeout: WAIT_MS });
});

/** Every field of a page's configuration form as it would post. */
async function formOf(page) {
  return page.evaluate(() => Object.fromEntries(new FormData(document.querySelector('form.config'))));
}

test('the volunteer is credited; the station records a redemption and sees the new balance; an overdraft is refused', async (t) => {
  // The counter is open while the volunteer accepts and marks done and the grid leader rates it: the server
  // credits the service's points, and the page shows them without a reload.
  await station.goto('/console/shop');
  await waitLive(station);
  await station.evaluate(() => {
    window.__sameDocument = true;
  });
  assert.equal((await volunteer.cli(['service', 'accept', ids.order])).stage, 'accepted');
  assert.equal((await volunteer.cli(['service', 'done', ids.order, '--note', '已送到。'])).stage, 'done');
  await volunteer.sync();
  await leader.sync();
  assert.equal((await leader.cli(['service', 'evaluate', ids.order, '--rating', '5'])).stage, 'evaluated');
  await leader.sync();

  // meal_delivery credits 10 points.
  const balance = (who) => station.locator(`#shop-balances tr[data-volunteer="${who}"] td.balance`);
  await balance('李志愿').and(station.locator('td', { hasText: /^10$/ })).waitFor({ timeout: LIVE_WITHIN_MS });
  assert.equal(await station.evaluate(() => window.__sameDocument), true, 'the counter reloaded');
  await station.locator('#shop-honour tr[data-volunteer="李志愿"]', { hasText: '10' }).waitFor({ timeout: WAIT_MS });
  await checked(t, station, 'shop');

  // Two soaps (4 points each): confirmed, 2 points left, 8 soaps left.
  await station.locator('#redeem-volunteer').selectOption('李志愿');
  await station.locator('#redeem-item').selectOption('soap');
  await station.locator('#redeem-quantity').fill('2');
  await Promise.all([
    station.waitForURL(/\/console\/shop\?redemption=/, { timeout: WAIT_MS }),
    station.getByRole('button', { name: '兑换', exact: true }).click(),
  ]);
  const outcome = station.locator('p.outcome[role=status]');
  await outcome.waitFor({ timeout: WAIT_MS });
  assert.equal(await outcome.getAttribute('data-outcome'), 'confirmed');
  assert.match(await outcome.textContent(), /兑换成功.*剩余 2 积分/);
  await balance('李志愿').and(station.locator('td', { hasText: /^2$/ })).waitFor({ timeout: WAIT_MS });
  await station.locator('#shop-items tr[data-item="soap"] td.left', { hasText: /^8$/ }).waitFor({ timeout: WAIT_MS });
  await station.locator('#shop-recent tr[data-status="confirmed"]').first().waitFor({ timeout: WAIT_MS });
  await checked(t, station, 'shop-redeemed');

  // One more soap would overdraw: refused in words, the balance unchanged.
  await station.locator('#redeem-volunteer').selectOption('李志愿');
  await station.locator('#redeem-item').selectOption('soap');
  await station.locator('#redeem-quantity').fill('1');
  await station.getByRole('button', { name: '兑换', exact: true }).click();
  await station.locator('main p.error', { hasText: '积分不足' }).waitFor({ timeout: WAIT_MS });
  await balance('李志愿').and(station.locator('td', { hasText: /^2$/ })).waitFor({ timeout: WAIT_MS });
  await station.locator('#shop-items tr[data-item="soap"] td.left', { hasText: /^8$/ }).waitFor({ timeout: WAIT_MS });

  // The phone sees the same balance.
  await volunteer.sync();
  const onPhone = await volunteer.cli(['points', 'balance', '--volunteer', '李志愿']);
  assert.equal(onPhone.balance, 2);
});

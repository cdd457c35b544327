// Sign-in and sessions (PRODUCT.md §5): a wrong password stays on the sign-in page with the error, a
// state-changing request without the session's CSRF token is refused with 403, and a session idle past its
// expiry sends the browser back to sign-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { setUpCommunity, discardPhones, PASSWORD } from './lib/community.mjs';
import { launch, newContext, signIn, signedInPage, detailStage, screenshot, WAIT_MS } from './lib/browser.mjs';

/** Idle sessions end after 30 minutes (`sync-server/src/console/session.rs`, `IDLE_EXPIRY_SECS`). */
const IDLE_EXPIRY_SECS = 30 * 60;

let server;
let browser;
let community;
let incident;

before(async () => {
  server = await startServer('session');
  browser = await launch();
  community = await setUpCommunity(server, {
    name: '和平社区',
    staff: [
      { user: 'committee1', role: 'committee' },
      { user: 'committee2', role: 'committee' },
    ],
    phones: [{ user: '李网格长' }],
  });
  const phone = community.phones['李网格长'];
  incident = await phone.report({ household: community.households.G03[0], title: '垃圾桶满了没人清' });
  await phone.sync();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await discardPhones(community);
});

test('a wrong password shows the error and stays on the sign-in page', async (t) => {
  const context = await newContext(browser, server);
  const page = await context.newPage();
  await page.goto('/console/login');
  await page.locator('#user').fill('committee1');
  await page.locator('#password').fill('not-the-password');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/console/login') && r.request().method() === 'POST'),
    page.locator('form[action="/console/login"] button[type=submit]').click(),
  ]);
  assert.equal(response.status(), 401);
  await page.locator('p.error[role=alert]', { hasText: '用户名或密码错误。' }).waitFor({ timeout: WAIT_MS });
  assert.match(new URL(page.url()).pathname, /^\/console\/login$/);
  t.diagnostic(`screenshot: ${await screenshot(page, 'login-error')}`);
  // The name stays filled in, the password does not; no session cookie was set.
  assert.equal(await page.locator('#user').inputValue(), 'committee1');
  assert.equal(await page.locator('#password').inputValue(), '');
  const cookies = await context.cookies();
  assert.equal(cookies.find((c) => c.name === 'gl_session'), undefined, 'a failed sign-in set a session cookie');
  // The queue still sends this browser to sign-in.
  await page.goto('/console/queue');
  assert.match(new URL(page.url()).pathname, /^\/console\/login$/);
  // And the right password then works.
  await signIn(page, 'committee1', PASSWORD);
  await context.close();
});

test('a POST without the CSRF token answers 403 and changes nothing; with it the action is taken', async () => {
  const page = await signedInPage(browser, server, 'committee1', PASSWORD);
  await page.goto(`/console/incidents/${incident}`);
  await detailStage(page).and(page.locator('.stage-committee_review')).waitFor({ timeout: WAIT_MS });
  const token = await page.locator('body').getAttribute('data-csrf');
  assert.ok(token && token.length >= 32, `the page carries no CSRF token: ${token}`);

  // page.request shares the page's cookies: the session is there, the token is not.
  const path = `/console/incidents/${incident}/act`;
  const missing = await page.request.post(path, { form: { action: 'dispatch', note: '' }, maxRedirects: 0 });
  assert.equal(missing.status(), 403);
  assert.match(await missing.text(), /安全令牌/);
  const wrong = await page.request.post(path, { form: { action: 'dispatch', csrf: 'x'.repeat(token.length) }, maxRedirects: 0 });
  assert.equal(wrong.status(), 403);
  const logout = await page.request.post('/console/logout', { form: {}, maxRedirects: 0 });
  assert.equal(logout.status(), 403, 'signing out without the token');

  await page.reload();
  await detailStage(page).and(page.locator('.stage-committee_review')).waitFor({ timeout: WAIT_MS });

  // The same request with the token is taken: the 403s above were the token's, not the request's.
  const ok = await page.request.post(path, { form: { action: 'dispatch', csrf: token }, maxRedirects: 0 });
  assert.equal(ok.status(), 303, await ok.text());
  await page.reload();
  await detailStage(page).and(page.locator('.stage-at_station')).waitFor({ timeout: WAIT_MS });
  await page.context().close();
});

test('a session idle past its expiry goes back to sign-in', async () => {
  const page = await signedInPage(browser, server, 'committee2', PASSWORD);
  const staff = community.staff.committee2.staff_id;
  const aged = await server.sql(
    'UPDATE console_session SET last_seen = last_seen - ? WHERE staff_id = ?',
    [IDLE_EXPIRY_SECS + 60, staff],
  );
  assert.equal(aged.changed, 1, 'exactly one session of the account was aged');
  await page.goto('/console/queue');
  assert.equal(new URL(page.url()).pathname, '/console/login');
  assert.equal(new URL(page.url()).searchParams.get('expired'), '1');
  await page.locator('p.error[role=alert]', { hasText: '登录已过期，请重新登录。' }).waitFor({ timeout: WAIT_MS });
  // The session is gone from the server, not only from this page: the queue still sends the browser away.
  const left = await server.sql('SELECT count(*) FROM console_session WHERE staff_id = ?', [staff]);
  assert.deepEqual(left.rows, [[0]]);
  const again = await page.request.get('/console/queue', { maxRedirects: 0 });
  assert.equal(again.status(), 303);
  assert.match(again.headers().location, /^\/console\/login/);
  await page.context().close();
});

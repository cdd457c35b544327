// Scope in the console (PRODUCT.md §5): a station account sees its own community's incidents and photos
// and nothing of another community's — not in its queue, not by the incident's address, not by the photo's
// hash. The other community's own station account sees them (so the refusals are the scope's, not a typo's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { setUpCommunity, discardPhones, PASSWORD } from './lib/community.mjs';
import { writePhoto } from './lib/fixtures.mjs';
import { launch, signedInPage, queueRow, screenshot, WAIT_MS } from './lib/browser.mjs';

let server;
let browser;
let x;
let y;
const ids = {};
let photo;
let photoHash;

before(async () => {
  server = await startServer('scope');
  browser = await launch();
  x = await setUpCommunity(server, {
    name: '东湖社区', grids: ['G01'], staff: [{ user: 'station-x', role: 'station' }], phones: [{ user: '东湖网格长' }],
  });
  y = await setUpCommunity(server, {
    name: '西湖社区', grids: ['G01'], staff: [{ user: 'station-y', role: 'station' }], phones: [{ user: '西湖网格长' }],
  });
  const px = x.phones['东湖网格长'];
  const py = y.phones['西湖网格长'];
  ids.x = await px.report({ household: x.households.G01[0], severity: 'urgent', title: '东湖：电梯困人' });
  photo = join(server.data, 'leak.png');
  photoHash = await writePhoto(photo, [40, 110, 200]);
  ids.y = await py.report({
    household: y.households.G01[0], severity: 'urgent', category: 'environment', title: '西湖：水管漏水', photos: [photo],
  });
  await px.sync();
  const { report } = await py.sync();
  assert.equal(report.blobs_up, 1, 'the photo was uploaded');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await discardPhones(x);
  await discardPhones(y);
});

test("a station account of community X sees none of community Y's incidents or photos", async (t) => {
  const sx = await signedInPage(browser, server, 'station-x', PASSWORD);
  // Its queue: X's incident (urgent, straight to the station), not Y's — in any stage.
  await sx.goto('/console/queue?stage=all');
  await queueRow(sx, ids.x).waitFor({ timeout: WAIT_MS });
  assert.equal(await queueRow(sx, ids.y).count(), 0, "Y's incident is in X's queue");
  assert.equal(await sx.getByText('西湖：水管漏水').count(), 0, "Y's title shows on X's queue");
  const rows = await sx.request.get('/console/queue/rows?stage=all');
  assert.equal(rows.status(), 200);
  assert.ok(!(await rows.text()).includes(ids.y), "Y's incident id is in X's queue rows");

  // Its address: not found, as a page and to a bare request.
  const response = await sx.goto(`/console/incidents/${ids.y}`);
  assert.equal(response.status(), 404);
  await sx.locator('p.error[role=alert]', { hasText: '找不到该记录。' }).waitFor({ timeout: WAIT_MS });
  t.diagnostic(`screenshot: ${await screenshot(sx, 'not-found')}`);
  assert.equal(await sx.getByText('西湖：水管漏水').count(), 0, "the not-found page shows Y's title");
  assert.equal((await sx.request.get(`/console/incidents/${ids.y}`)).status(), 404);
  // Acting on it is refused too, even with a valid token.
  await sx.goto('/console/queue');
  const csrf = await sx.locator('body').getAttribute('data-csrf');
  const act = await sx.request.post(`/console/incidents/${ids.y}/act`, {
    form: { action: 'verify', assignee: '东湖的人', csrf }, maxRedirects: 0,
  });
  assert.ok([403, 404].includes(act.status()), `acting on Y's incident answered ${act.status()}`);

  // Its photo, named by hash: not found.
  const stolen = await sx.request.get(`/console/photos/${photoHash}`);
  assert.equal(stolen.status(), 404);
  assert.ok(!(await stolen.body()).includes(await readFile(photo)), 'the photo came back anyway');
});

test("community Y's own station sees its incident and photo (the control for the refusals above)", async () => {
  const sy = await signedInPage(browser, server, 'station-y', PASSWORD);
  await sy.goto(`/console/incidents/${ids.y}`);
  await sy.locator('#incident h1', { hasText: '西湖：水管漏水' }).waitFor({ timeout: WAIT_MS });
  const img = sy.locator(`#incident ul.photos img[src="/console/photos/${photoHash}"]`).first();
  await img.waitFor({ timeout: WAIT_MS });
  await img.scrollIntoViewIfNeeded();
  await sy.waitForFunction((el) => el.complete && el.naturalWidth === 64, await img.elementHandle(), { timeout: WAIT_MS });
  const res = await sy.request.get(`/console/photos/${photoHash}`);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['content-type'], 'image/png');
  assert.deepEqual(await res.body(), await readFile(photo));
  // And X's incident is as foreign to Y as Y's to X.
  assert.equal((await sy.request.get(`/console/incidents/${ids.x}`)).status(), 404);
});

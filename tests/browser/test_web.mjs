// test_web.mjs: trailmapd's web page in Debian's headless Chromium, driven
// by playwright-core.  tests/server/test_web.sh starts the server, submits
// the sessions and prints what the CLI says about them, then runs this with:
//
//   TM_MODE      "main" (no auth) or "auth" (the server checks tokens)
//   TM_WEB_URL   the page, e.g. http://127.0.0.1:PORT/
//   TM_KEY       the corpus session's key (has '/', ' ', '#', '+')
//   TM_ARN_KEY   a session keyed by principal ARN and sign-in time
//   TM_COLON_KEY a session whose key ends in ':' (its URL ends in %3A)
//   TM_SIGNALS   `trailmap signals KEY --format json`
//   TM_CARTO     `trailmap signals KEY --format cartographer`
//   TM_JSONL     `trailmap events KEY --format jsonl`
//   TM_TOKEN     auth mode: a read token
//   TM_SHOTS     where screenshots go
//   CHROMIUM     the browser (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const mode = env.TM_MODE || 'main';
const base = env.TM_WEB_URL;
const shots = env.TM_SHOTS || tmpdir();
const enc = encodeURIComponent;
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.error(`FAIL ${name}\n     ${String(e.message).split('\n').join('\n     ')}`);
  }
}

// HH:MM:SS of an ISO time, as the timeline shows it
const clock = (iso) => iso.slice(11, 19);

function rawGet(url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(path.join(tmpdir(), 'trailmap-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1440, height: 900 },
  acceptDownloads: true,
});
context.setDefaultTimeout(15000);
const problems = [];
function watch(page) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // a refused token is reported by the browser itself; that is the test
    if (m.type() === 'error' && !(mode === 'auth' && /401/.test(m.text()))) problems.push(`console: ${m.text()}`);
  });
  return page;
}

try {
  if (mode === 'main') await mainTests();
  else await authTests();
  await check('no script errors on the page', () => assert.deepEqual(problems, []));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

async function mainTests() {
  const key = env.TM_KEY;
  const arnKey = env.TM_ARN_KEY;
  const cli = JSON.parse(readFileSync(env.TM_SIGNALS, 'utf8')).sessions[0].signals;
  const shown = cli.filter((s) => !s.suppressed);
  const page = watch(await context.newPage());

  await check('the JSON endpoints answer with the RPC statuses', async () => {
    const h = await rawGet(`${base}api/health`);
    assert.equal(h.status, 200);
    assert.equal(JSON.parse(h.body).serving, true);
    const nf = await rawGet(`${base}api/sessions/${enc('no such session')}`);
    assert.equal(nf.status, 404);
    assert.match(JSON.parse(nf.body).error, /no such session/);
    const bad = await rawGet(`${base}api/sessions?from=yesterday`);
    assert.equal(bad.status, 400);
    const evil = await rawGet(`${base}api/health`, { Host: 'rebound.example.com' });
    assert.equal(evil.status, 403, 'a Host that is not loopback is refused');
    const s = JSON.parse((await rawGet(`${base}api/sessions/${enc(key)}`)).body);
    assert.equal(s.session.key, key);
    assert.deepEqual(s.signals.map((x) => x.correlationId), cli.map((x) => x.correlationId));
  });

  await check('the sessions page lists every session', async () => {
    await page.goto(`${base}#/`);
    await page.waitForSelector('#sessions tbody tr[data-key]');
    const keys = await page.$$eval('#sessions tbody tr', (rows) => rows.map((r) => r.dataset.key));
    assert.equal(keys.length, 5);
    assert.ok(keys.includes(key), `${key} in ${keys}`);
    assert.ok(keys.includes(arnKey));
  });

  await check('sessions sort by a column, both ways', async () => {
    const events = () => page.$$eval('#sessions tbody tr td:nth-child(5)', (c) => c.map((x) => Number(x.textContent.replace(/,/g, ''))));
    await page.click('#sessions th:nth-child(5) button');
    let v = await events();
    assert.deepEqual(v, [...v].sort((a, b) => b - a));
    assert.equal(await page.getAttribute('#sessions th:nth-child(5)', 'aria-sort'), 'descending');
    await page.click('#sessions th:nth-child(5) button');
    v = await events();
    assert.deepEqual(v, [...v].sort((a, b) => a - b));
    await page.click('#sessions th:nth-child(1) button');
    const who = await page.$$eval('#sessions tbody tr .who', (c) => c.map((x) => x.textContent.toLowerCase()));
    assert.deepEqual(who, [...who].sort());
  });

  await check('sessions filter by text and by time range', async () => {
    await page.fill('#session-filter', 'alice');
    assert.equal(await page.locator('#sessions tbody tr[data-key]').count(), 1);
    assert.match(page.url(), /#\/\?q=alice$/, 'the filter is in the link');
    await page.fill('#session-filter', '');
    await page.fill('#from', '2024-04-01T00:00:00');
    await page.dispatchEvent('#from', 'change');
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr[data-key]').length === 2);
    await page.fill('#to', '2024-04-30T00:00:00');
    await page.dispatchEvent('#to', 'change');
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr[data-key]').length === 1);
    assert.deepEqual(await page.$$eval('#sessions tbody tr[data-key]', (r) => r.map((x) => x.dataset.key)), [key]);
    await page.click('text=Clear');
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr[data-key]').length === 5);
  });
  await page.screenshot({ path: path.join(shots, 'web-sessions.png') });

  await check('a session row opens by keyboard (focus, Enter)', async () => {
    const row = page.locator('#sessions tbody tr').filter({ hasText: key });
    await row.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#timeline tbody tr[data-id]');
    assert.equal(new URL(page.url()).hash, `#/session/${enc(key)}`);
  });

  const rows = () => page.$$eval('#timeline tbody tr[data-id]', (trs) => trs.map((tr) => ({
    id: tr.dataset.id,
    time: tr.cells[0].textContent,
    service: tr.cells[2].textContent,
    name: tr.cells[3].firstChild.textContent,
    summary: tr.cells[4].textContent,
    events: Number(tr.cells[5].textContent),
    suppressed: tr.classList.contains('suppressed'),
  })));

  await check('the timeline rows are the signals of `trailmap signals --format json`', async () => {
    const got = await rows();
    assert.deepEqual(got.map((r) => r.id), shown.map((s) => s.correlationId));
    got.forEach((r, i) => {
      const s = shown[i];
      assert.equal(r.name, s.name);
      assert.equal(r.service, s.service);
      assert.equal(r.summary, s.summary);
      assert.equal(r.events, s.eventCount);
      assert.equal(r.time, clock(s.eventTime));
    });
    assert.equal(await page.textContent('#signal-count'), `${shown.length} signals`);
  });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(760, 20); // over the empty top bar: no hover effect in the picture
  await page.screenshot({ path: path.join(shots, 'web-session.png') });

  await check('the activity chart draws a bar per signal, coloured by service', async () => {
    assert.equal(await page.locator('#chart svg .bar').count(), shown.length);
    const legend = await page.textContent('#legend');
    for (const svc of new Set(shown.map((s) => s.service))) assert.ok(legend.includes(svc), `${svc} in the legend`);
    const fills = await page.$$eval('#chart svg .bar .solid', (r) => new Set(r.map((x) => x.getAttribute('fill'))).size);
    assert.equal(fills, new Set(shown.map((s) => s.service)).size);
  });

  await check('the toggle shows the suppressed background signals', async () => {
    const n = cli.length - shown.length;
    assert.ok(n > 0, 'the session has background signals');
    assert.match(await page.textContent('label[for="show-suppressed"]'), new RegExp(`Show ${n} background`));
    await page.check('#show-suppressed');
    const got = await rows();
    assert.deepEqual(got.map((r) => r.id), cli.map((s) => s.correlationId));
    assert.deepEqual(got.map((r) => r.suppressed), cli.map((s) => s.suppressed));
    assert.equal(await page.locator('#chart svg .bar').count(), cli.length);
    await page.uncheck('#show-suppressed');
    assert.equal((await rows()).length, shown.length);
  });

  await check('the text filter narrows the timeline', async () => {
    const target = shown.find((s) => s.service !== 'N/A') || shown[0];
    await page.fill('#signal-filter', target.name);
    const got = await rows();
    assert.ok(got.length >= 1 && got.length < shown.length, `${got.length} rows`);
    assert.ok(got.some((r) => r.id === target.correlationId));
    await page.fill('#signal-filter', '');
    assert.equal((await rows()).length, shown.length);
  });

  await check('the unmapped events have their own list', async () => {
    await page.waitForSelector('#unmapped-list details.event');
    const names = await page.$$eval('#unmapped-list details.event .nm', (e) => e.map((x) => x.textContent));
    assert.ok(names.includes('madeup:DescribeNothing') && names.includes('madeup:ListWidgets'), names.join(','));
    await page.click('#unmapped-list details.event:last-child summary');
    assert.match(await page.textContent('#unmapped-list details.event:last-child pre'), /"eventName": "ListWidgets"/);
  });

  // a signal with a few events, to check them one by one
  const pick = shown.filter((s) => s.eventCount > 1 && s.eventCount < 60).sort((a, b) => b.eventCount - a.eventCount)[0];
  await check('clicking a signal shows its raw events, pretty-printed', async () => {
    await page.click(`#timeline tbody tr[data-id="${pick.correlationId}"] td.summary`);
    await page.waitForSelector('#drawer:not([hidden]) #signal-events details.event');
    assert.equal(new URL(page.url()).hash, `#/session/${enc(key)}/signal/${enc(pick.correlationId)}`);
    assert.equal(await page.textContent('#drawer-title'), pick.name);
    const ids = await page.$$eval('#signal-events details.event', (d) => d.map((x) => x.dataset.id));
    assert.deepEqual(ids, pick.eventIds);
    const first = await page.textContent('#signal-events details.event[open] pre');
    assert.ok(first.includes(`"eventID": "${pick.eventIds[0]}"`), 'the first event is shown as indented JSON');
  });
  await page.screenshot({ path: path.join(shots, 'web-signal.png') });

  await check('Escape closes the signal and gives focus back to its row', async () => {
    await page.keyboard.press('Escape');
    await page.waitForSelector('#drawer', { state: 'hidden' });
    assert.equal(new URL(page.url()).hash, `#/session/${enc(key)}`);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), pick.correlationId);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#drawer:not([hidden])');
    const next = shown[shown.findIndex((s) => s.correlationId === pick.correlationId) + 1];
    assert.equal(await page.textContent('#drawer-title'), next.name);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#drawer', { state: 'hidden' });
  });

  await check('the exports are byte for byte what the CLI prints', async () => {
    let [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export-cartographer')]);
    assert.equal(readFileSync(await dl.path(), 'utf8'), readFileSync(env.TM_CARTO, 'utf8'));
    assert.match(dl.suggestedFilename(), /\.cartographer\.json$/);
    [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export-jsonl')]);
    assert.equal(readFileSync(await dl.path(), 'utf8'), readFileSync(env.TM_JSONL, 'utf8'));
  });

  await check('a deep link to a signal opens it in a new tab (even a background one)', async () => {
    const bg = cli.find((s) => s.suppressed);
    const tab = watch(await context.newPage());
    await tab.goto(`${base}#/session/${enc(key)}/signal/${enc(bg.correlationId)}`);
    await tab.waitForSelector('#drawer:not([hidden]) #signal-events details.event');
    assert.equal(await tab.textContent('#drawer-title'), bg.name);
    assert.equal(await tab.locator('#signal-events details.event').count(), bg.eventIds.length);
    await tab.close();
  });

  await check('a deep link to a session keyed by ARN and sign-in time', async () => {
    const tab = watch(await context.newPage());
    await tab.goto(`${base}#/session/${enc(arnKey)}`);
    await tab.waitForSelector('#timeline tbody tr[data-id]');
    assert.equal(await tab.textContent('#session-key'), arnKey);
    await tab.close();
  });

  await check('a session whose key ends in a character that is %-escaped', async () => {
    const tab = watch(await context.newPage());
    await tab.goto(`${base}#/session/${enc(env.TM_COLON_KEY)}`);
    await tab.waitForSelector('#unmapped-list details.event');
    assert.equal(await tab.textContent('#session-title'), env.TM_COLON_KEY);
    await tab.close();
    const h = await rawGet(`${base}api/health`);
    assert.equal(h.status, 200, 'the server is still up');
  });

  await check('a deep link to a session that does not exist says so', async () => {
    const tab = await context.newPage();
    await tab.goto(`${base}#/session/${enc('gone/away')}`);
    await tab.waitForSelector('.error');
    assert.match(await tab.textContent('.error'), /no session "gone\/away"/);
    await tab.close();
  });
}

async function authTests() {
  const page = watch(await context.newPage());
  await check('without a token the API answers 401', async () => {
    const r = await rawGet(`${base}api/sessions`);
    assert.equal(r.status, 401);
    assert.match(JSON.parse(r.body).error, /token/);
    assert.match(r.headers['www-authenticate'] || '', /Bearer/);
    const ok = await rawGet(`${base}api/sessions`, { Authorization: `Bearer ${env.TM_TOKEN}` });
    assert.equal(ok.status, 200);
  });

  await check('the page asks for a token and refuses a wrong one', async () => {
    await page.goto(`${base}#/session/${enc(env.TM_KEY)}`);
    await page.waitForSelector('#token');
    await page.fill('#token', 'not-a-token');
    await page.press('#token', 'Enter');
    await page.waitForSelector('.login .error:not([hidden])');
    assert.match(await page.textContent('.login .error'), /did not accept/);
  });

  await check('with the right token the page opens where the link pointed', async () => {
    await page.fill('#token', env.TM_TOKEN);
    await page.press('#token', 'Enter');
    await page.waitForSelector('#timeline tbody tr[data-id]');
    assert.equal(new URL(page.url()).hash, `#/session/${enc(env.TM_KEY)}`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('trailmap.token')), env.TM_TOKEN);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export-cartographer')]);
    assert.equal(readFileSync(await dl.path(), 'utf8'), readFileSync(env.TM_CARTO, 'utf8'));
  });

  await check('signing out forgets the token', async () => {
    await page.click('#signout');
    await page.waitForSelector('#token');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('trailmap.token')), null);
  });
}

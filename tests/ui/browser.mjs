// Drives the data browser of `kv serve` (/ui) in Debian's Chromium, headless, through
// playwright-core. tests/ui_browser.rs starts the server, seeds it and runs:
//
//   node tests/ui/browser.mjs <base-url> <api-key> <screenshot-path>
//
// With <api-key> "-" the server runs with --no-auth: the page must work without signing
// in. KV_UI_USER / KV_UI_PASSWORD, when set, are HTTP basic credentials the server also
// accepts: the script signs in with them too. CHROMIUM overrides /usr/bin/chromium.
//
// Exits 0 when every check passed; prints what failed otherwise.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, apiKey, screenshot] = process.argv.slice(2);
if (!base || !apiKey || !screenshot) {
  console.error('usage: node tests/ui/browser.mjs <base-url> <api-key|-> <screenshot-path>');
  process.exit(2);
}
const noAuth = apiKey === '-';
const basicUser = process.env.KV_UI_USER;
const basicPassword = process.env.KV_UI_PASSWORD;
const STORE = 'demo-cache';
const XSS_KEY = '<img src=x onerror=alert(1)>';
const BIG = '12345678901234567890';

let step = 'start';
function check(condition, message) {
  if (!condition) throw new Error(`${step}: ${message}`);
}
function equal(actual, expected, message) {
  if (actual !== expected) {
    throw new Error(`${step}: ${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}
function log(message) {
  console.log(`ok: ${message}`);
}

/** The API, directly (not through the page), to check what the page did. */
async function api(method, route, body) {
  const headers = noAuth ? {} : { Authorization: `Bearer ${apiKey}` };
  const response = await fetch(`${base}${route}`, { method, headers, body });
  return { status: response.status, text: await response.text() };
}
const cfValue = (key) =>
  `/client/v4/accounts/any/storage/kv/namespaces/${STORE}/values/${encodeURIComponent(key)}`;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-ui-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1440, height: 900 },
  acceptDownloads: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

// Everything the page must never do, watched for the whole run.
const problems = [];
const requests = [];
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(15000);
page.on('dialog', (dialog) => {
  problems.push(`a native ${dialog.type()} dialog opened: ${dialog.message()}`);
  dialog.dismiss().catch(() => {});
});
page.on('pageerror', (error) => problems.push(`uncaught error in the page: ${error.message}`));
page.on('console', (message) => {
  if (/Content.Security.Policy|Refused to/i.test(message.text())) {
    problems.push(`CSP violation: ${message.text()}`);
  }
});
page.on('request', (request) => requests.push(request));

const rows = page.locator('#key-table tbody tr');
const keySelector = (key) => `button.key-link[data-key="${key.replace(/["\\]/g, '\\$&')}"]`;
const keyButton = (key) => page.locator(`#key-table ${keySelector(key)}`);
const keyRow = (key) => rows.filter({ has: page.locator(keySelector(key)) });

async function waitForRows(expected) {
  await page.waitForFunction(
    (n) => document.querySelectorAll('#key-table tbody tr').length === n,
    expected,
  );
}

async function filter(prefix) {
  await page.fill('#prefix', prefix);
  await page.press('#prefix', 'Enter');
  await page.waitForSelector('#key-table, .keys .placeholder');
  await page.waitForFunction(() => !document.querySelector('.keys .placeholder') ||
    !/Loading/.test(document.querySelector('.keys .placeholder').textContent));
}

async function openKey(key) {
  await keyButton(key).click();
  await page.waitForFunction((k) => {
    const title = document.querySelector('#detail-key');
    return title && title.textContent === k;
  }, key);
}

async function confirmDialog(expectedText) {
  const dialog = page.locator('#confirm');
  await dialog.waitFor({ state: 'visible' });
  const text = await page.textContent('#confirm-message');
  check(text.includes(expectedText), `the confirmation should say ${JSON.stringify(expectedText)}: ${text}`);
  await page.click('#confirm-ok');
  await dialog.waitFor({ state: 'hidden' });
}

async function signInWithKey(key) {
  await page.fill('#login-token', key);
  await page.click('#login-form button[type=submit]');
}

try {
  step = 'load';
  const response = await page.goto(`${base}/ui`);
  equal(response.status(), 200, 'GET /ui');
  const csp = response.headers()['content-security-policy'] || '';
  check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), `CSP header: ${csp}`);

  if (noAuth) {
    step = 'no-auth';
    await page.waitForSelector(`#stores button[data-store="${STORE}"]`);
    check((await page.locator('#login-form').count()) === 0, 'no sign-in form with --no-auth');
    check((await page.textContent('#identity')).includes('no authentication'), 'the header says so');
    await page.waitForSelector('#key-table, .keys .placeholder');
    check(problems.length === 0, `problems:\n  ${problems.join('\n  ')}`);
    await page.screenshot({ path: screenshot });
    log('--no-auth: the page lists the stores and keys without asking for credentials');
  } else {
    await signIn();
    await browse();
  }
} catch (error) {
  console.error(`FAILED at ${step}: ${error.message}`);
  if (problems.length) console.error(`also:\n  ${problems.join('\n  ')}`);
  const failure = path.join(path.dirname(path.resolve(screenshot)), 'ui-failure.png');
  await page.screenshot({ path: failure }).catch(() => {});
  console.error(`the page at the failure: ${failure}`);
  process.exitCode = 1;
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

/** Signs in: with basic credentials (a wrong password first), out again, then with the key. */
async function signIn() {
  step = 'sign in';
  await page.waitForSelector('#login-form');
  check((await page.locator('#stores').count()) === 0, 'nothing is shown before signing in');

  if (basicUser) {
    await page.click('.tab[data-scheme="basic"]');
    await page.fill('#login-user', basicUser);
    await page.fill('#login-pass', `${basicPassword}-wrong`);
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => /wrong user name or password/.test(
      document.querySelector('#login-error')?.textContent || ''));
    await page.click('.tab[data-scheme="basic"]');
    await page.fill('#login-user', basicUser);
    await page.fill('#login-pass', basicPassword);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector(`#stores button[data-store="${STORE}"]`);
    check((await page.textContent('#identity')).includes(`signed in as ${basicUser}`), 'basic identity');
    await page.click('#sign-out');
    await page.waitForSelector('#login-form');
    equal(await page.evaluate(() => sessionStorage.length), 0, 'signing out forgets the credentials');
    log('basic: a wrong password is refused with the server\'s message; the right one signs in; sign out');
  }

  await signInWithKey(`${apiKey}-wrong`);
  await page.waitForFunction(() => /wrong API key/.test(
    document.querySelector('#login-error')?.textContent || ''));
  await signInWithKey(apiKey);
  await page.waitForSelector(`#stores button[data-store="${STORE}"]`);
  const stored = await page.evaluate(() => ({
    session: Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),
    local: localStorage.length,
    cookie: document.cookie,
    url: location.href,
  }));
  check(stored.session.includes(`Bearer ${apiKey}`), 'the key is in session storage');
  equal(stored.local, 0, 'nothing in local storage');
  equal(stored.cookie, '', 'no cookie');
  check(!stored.url.includes(apiKey), 'the key is not in the URL');
  // Still signed in after a reload of the tab (session storage), with no prompt.
  await page.reload();
  await page.waitForSelector(`#stores button[data-store="${STORE}"]`);
  log('API key: a wrong key is refused; the right one signs in and survives a reload');
}

/** Everything else, signed in with the API key. */
async function browse() {
  step = 'list';
  await page.click(`#stores button[data-store="${STORE}"]`);
  await page.waitForSelector('#key-table');
  await waitForRows(1000);
  const total = Number((await api('GET', `/v1/stores/${STORE}/count`)).text.match(/"count":(\d+)/)[1]);
  check(total > 1100, `the seeded store has more than 1,100 keys (${total})`);
  await page.waitForFunction((t) => document.querySelector('#count')?.textContent ===
    `${new Intl.NumberFormat('en-US').format(t)} keys`, total);
  equal(await page.textContent('#page-info'), 'Page 1 · keys 1–1,000', 'page info');
  check(await page.isEnabled('#next-page'), 'a next page');
  check(await page.isDisabled('#prev-page'), 'no previous page');
  log(`the first page: 1,000 of ${total} keys`);

  step = 'escaping';
  const xss = keyButton(XSS_KEY);
  equal(await xss.count(), 1, 'the <img> key is listed');
  equal(await xss.textContent(), XSS_KEY, 'the <img> key shows as text');
  await openKey(XSS_KEY);
  equal(await page.textContent('#value-text'), '<script>alert(2)</script>', 'its value shows as text');
  equal(await page.locator('img').count(), 0, 'no img element exists');
  equal(await page.locator('script').count(), 1, 'no script element but the page\'s own');
  log('a key named <img src=x onerror=alert(1)> and a value <script>…</script> render as text');

  step = 'paging';
  const firstOnPage1 = await rows.first().locator('button.key-link').getAttribute('data-key');
  await page.click('#next-page');
  await waitForRows(total - 1000);
  equal(await page.textContent('#page-info'),
    `Page 2 · keys 1,001–${new Intl.NumberFormat('en-US').format(total)}`, 'page 2 info');
  check(await page.isDisabled('#next-page'), 'page 2 is the last');
  equal(await keyButton('user:ada').count(), 1, 'a key past the first 1,000 is on page 2');
  equal(await keyButton(firstOnPage1).count(), 0, 'page 1\'s keys are not on page 2');
  await page.click('#prev-page');
  await waitForRows(1000);
  equal(await rows.first().locator('button.key-link').getAttribute('data-key'), firstOnPage1, 'back on page 1');
  log('next page past the first 1,000 keys, and back');

  step = 'filter';
  await filter('user:');
  const users = await page.$$eval('#key-table button.key-link', (b) => b.map((x) => x.dataset.key));
  check(users.length >= 5 && users.every((k) => k.startsWith('user:')), `only user: keys: ${users}`);
  await page.waitForFunction((n) => document.querySelector('#count')?.textContent ===
    `${n} keys under this prefix`, users.length);
  check((await page.evaluate(() => location.hash)).includes('prefix=user'), 'the prefix is in the hash');
  const adaRow = keyRow('user:ada');
  const adaExpires = await adaRow.locator('td.exp').textContent();
  check(/^in 3 h \d{4}-\d\d-\d\d \d\d:\d\d$/.test(adaExpires), `relative time and date: ${adaExpires}`);
  check((await adaRow.locator('td.meta').textContent()).includes('"plan":"pro"'), 'metadata in the list');
  log(`filter by prefix user: (${users.length} keys, with expiration "${adaExpires}" and metadata)`);

  step = 'json value';
  await openKey('user:ada');
  const pretty = await page.textContent('#value-json');
  check(pretty.includes('\n  "name": "Ada",\n'), `pretty-printed JSON: ${pretty}`);
  check(pretty.includes(`"id": ${BIG}`), 'a large integer is shown exactly');
  check((await page.textContent('#detail-kind')).startsWith('JSON'), 'shown as JSON');
  check((await page.textContent('#detail-expiration')).includes('in 3 h'), 'its expiration');
  check((await page.textContent('#detail-metadata')).includes('"plan": "pro"'), 'its metadata');
  log('a JSON value, pretty-printed, with its expiration and metadata');

  step = 'edit: validation error';
  const before = await api('GET', cfValue('user:ada'));
  await page.click('#edit');
  const edited = (await page.inputValue('#edit-value')).replace('"name": "Ada"', '"name": "Ada Lovelace"');
  await page.fill('#edit-value', edited);
  await page.selectOption('#edit-expires', 'ttl');
  await page.fill('#edit-ttl', '30');
  await page.click('#save');
  await page.waitForFunction(() => /Expiration TTL must be at least 60/.test(
    document.querySelector('#error-expires')?.textContent || ''));
  check(await page.locator('#edit-ttl.invalid').count() === 1, 'the TTL field is marked');
  equal((await api('GET', cfValue('user:ada'))).text, before.text, 'nothing was written');
  log('TTL 30: the server\'s error is shown next to the TTL field, nothing written');

  step = 'edit: save';
  await page.fill('#edit-ttl', '7200');
  await page.fill('#edit-metadata', '{"plan": "enterprise"}');
  await page.click('#save');
  await page.waitForFunction(() => (document.querySelector('#value-json')?.textContent || '')
    .includes('Ada Lovelace'));
  check((await page.textContent('#detail-expiration')).includes('in 2 h'), 'the new TTL');
  check((await page.textContent('#detail-metadata')).includes('enterprise'), 'the new metadata');
  const after = (await api('GET', cfValue('user:ada'))).text;
  check(after.includes('"name":"Ada Lovelace"') && after.includes(`"id":${BIG}`),
    `stored minified and exact: ${after}`);
  log('edited value, TTL and metadata saved (the server has the JSON, exactly)');

  step = 'create';
  await page.click('#new-key');
  equal(await page.inputValue('#edit-key'), 'user:', 'a new key starts with the prefix');
  await page.fill('#edit-key', 'user:new');
  await page.selectOption('#edit-kind', 'text');
  await page.fill('#edit-value', 'hello, world');
  await page.fill('#edit-metadata', '{"note": "made in the browser"}');
  await page.click('#save');
  await page.waitForFunction(() => document.querySelector('#detail-key')?.textContent === 'user:new');
  equal(await page.textContent('#value-text'), 'hello, world', 'the text value');
  equal((await api('GET', cfValue('user:new'))).text, 'hello, world', 'stored as raw text');
  await waitForRows(users.length + 1);
  // Creating it again is refused: a new key never overwrites one.
  await page.click('#new-key');
  await page.fill('#edit-key', 'user:new');
  await page.selectOption('#edit-kind', 'text');
  await page.fill('#edit-value', 'overwrite?');
  await page.click('#save');
  await page.waitForFunction(() => /exists already/.test(document.querySelector('#error-form')?.textContent || ''));
  equal((await api('GET', cfValue('user:new'))).text, 'hello, world', 'not overwritten');
  await page.click('#cancel');
  log('a new text key with metadata; creating it twice is refused');

  step = 'delete';
  await openKey('user:new');
  await page.click('#delete');
  await confirmDialog('user:new');
  await waitForRows(users.length);
  equal(await keyButton('user:new').count(), 0, 'the row is gone');
  equal((await api('GET', cfValue('user:new'))).status, 404, 'the key is gone');
  // Cancelling deletes nothing.
  await openKey('user:ada');
  await page.click('#delete');
  await page.locator('#confirm').waitFor({ state: 'visible' });
  await page.click('#confirm-cancel');
  equal((await api('GET', cfValue('user:ada'))).status, 200, 'cancel keeps the key');
  log('delete with confirmation (and cancel)');

  step = 'binary';
  await filter('files/');
  await openKey('files/logo.png');
  check((await page.textContent('#detail-kind')).startsWith('binary · 600 B'), 'binary, 600 B');
  const hex = await page.textContent('#hex');
  check(hex.startsWith('0000  89 50 4e 47 0d 0a 1a 0a'), `hex preview: ${hex.slice(0, 60)}`);
  equal(hex.split('\n').length, 16, '256 bytes in 16 lines');
  check(hex.includes('|.PNG....'), 'the ASCII column');
  const href = await page.getAttribute('#download', 'href');
  check(href.startsWith('blob:'), `the download is a Blob URL: ${href}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const saved = fs.readFileSync(await download.path());
  equal(saved.length, 600, 'downloaded size');
  equal(saved.subarray(0, 4).toString('hex'), '89504e47', 'downloaded bytes');
  log('a binary value: size, hex preview of 256 bytes, download from a Blob');

  step = 'delete by prefix';
  await filter('tmp:');
  await waitForRows(10);
  await page.click('#delete-prefix');
  await confirmDialog('10 keys under the prefix “tmp:”');
  await page.waitForFunction(() => /No keys under this prefix/.test(document.querySelector('.keys')?.textContent || ''));
  equal((await api('GET', `/v1/stores/${STORE}/count?prefix=tmp:`)).text.includes('"count":0'), true, 'deleted');
  log('delete by prefix, confirming the count');

  step = 'secrets';
  const headers = await Promise.all(requests.map(async (r) => ({ url: r.url(), headers: await r.allHeaders() })));
  for (const { url } of headers) {
    check(!url.includes(apiKey) || noAuth, `a secret in a URL: ${url}`);
    if (basicPassword) check(!url.includes(basicPassword), `a password in a URL: ${url}`);
  }
  const apiCalls = headers.filter(({ url }) => /\/(v1|client)\//.test(new URL(url).pathname));
  check(apiCalls.length > 10, 'the page called the API');
  if (!noAuth) {
    const bare = apiCalls.filter(({ headers: h }) => !h.authorization);
    // Only the first call of each sign-in (before credentials exist) goes without.
    check(bare.every(({ url }) => url.endsWith('/v1/admin/info')), `API calls without credentials: ${bare.map((b) => b.url)}`);
  }
  log(`${apiCalls.length} API calls, credentials only ever in the Authorization header`);

  step = 'screenshot';
  // A fresh load of a link to the store and prefix (the hash): no banner left over.
  await page.goto(`${base}/ui#store=${STORE}&prefix=user%3A`);
  await waitForRows(users.length);
  await page.reload();
  await waitForRows(users.length);
  equal(await page.inputValue('#prefix'), 'user:', 'the prefix from the link');
  await openKey('user:grace');
  await page.mouse.move(0, 0);
  fs.mkdirSync(path.dirname(path.resolve(screenshot)), { recursive: true });
  await page.screenshot({ path: screenshot });
  log(`screenshot: ${screenshot}`);

  check(problems.length === 0, `problems:\n  ${problems.join('\n  ')}`);
  log('no native dialog, no uncaught error, no CSP violation');
}

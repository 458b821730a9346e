// Drives coffer's dashboard (/ui/) in Debian's headless Chromium for the Python end-to-end tests
// (tests/e2e/python/dashboard_browser.py), which generate the traffic and check what the page shows.
//
// One command per line on stdin, one answer per line on stdout, both JSON:
//   {"cmd": "open", "url": ..., "width": 1400, "height": 1000}
//   {"cmd": "signin", "accessKeyId": ..., "secretAccessKey": ..., "region": ...}
//   {"cmd": "snapshot"}                        what the page shows, read through its element contract
//   {"cmd": "refresh"}                         clicks Refresh and waits for the refresh to finish
//   {"cmd": "setRegion", "region": ...}        changes the region filter, waits for the refresh
//   {"cmd": "waitFor", "selector": ..., "timeoutMs": ...}
//   {"cmd": "screenshot", "path": ..., "fullPage": true}
//   {"cmd": "requests"}                        every request the page made: method, URL, target
//   {"cmd": "html"}                            the page's markup as it is now
//   {"cmd": "close"}
// Answers are {"ok": true, "result": ...} or {"ok": false, "error": "..."}. Console errors, page
// errors and failed requests are collected and returned with every snapshot (`problems`), with
// the number of calls answered with an error status (`refused`).
import readline from 'node:readline';

import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

let browser = null;
let page = null;
const problems = [];
const refused = [];
const requests = [];

async function open({ url, width = 1400, height = 1000 }) {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await browser.newPage({ viewport: { width, height } });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium logs every non-2xx answer as an error; a refused call is one the page expects
    // (and shows), so those are listed apart from the page's own errors.
    if (m.text().startsWith('Failed to load resource')) refused.push(m.text());
    else problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    requests.push({ method: r.method(), url: r.url(), target: r.headers()['x-amz-target'] ?? '' });
  });
  const response = await page.goto(url);
  return { status: response.status(), csp: response.headers()['content-security-policy'] ?? '' };
}

async function signin({ accessKeyId, secretAccessKey, region, sessionToken = '' }) {
  await page.fill('#access-key-id', accessKeyId);
  await page.fill('#secret-access-key', secretAccessKey);
  if (sessionToken) await page.fill('#session-token', sessionToken);
  await page.fill('#region', region);
  await page.click('#sign-in');
  await page.waitForFunction(
    () =>
      (document.querySelector('#dashboard') && !document.querySelector('#dashboard').hidden &&
        document.querySelector('#last-refresh')?.textContent.trim()) ||
      document.querySelector('#signin-error')?.textContent.trim(),
    null,
    { timeout: 20_000 },
  );
  return page.evaluate(() => ({
    signedIn: !document.querySelector('#dashboard').hidden,
    error: document.querySelector('#signin-error')?.textContent.trim() ?? '',
  }));
}

// Everything the page shows, read only through the ids, classes and data attributes it promises.
function readPage() {
  const text = (sel, root = document) => root.querySelector(sel)?.textContent.trim() ?? null;
  const rows = (sel, cells) =>
    [...document.querySelectorAll(`${sel} tbody tr, ${sel} > tr`)]
      .filter((tr) => tr.querySelector('td'))
      .map((tr) => {
        const out = { data: { ...tr.dataset } };
        for (const c of cells) out[c] = text(`td.${c}`, tr);
        return out;
      });
  const panelErrors = {};
  for (const panel of document.querySelectorAll('[id^="panel-"]')) {
    const err = panel.querySelector('.panel-error');
    panelErrors[panel.id] = err && !err.hidden ? err.textContent.trim() : '';
  }
  const charts = {};
  for (const id of ['reads-chart', 'failures-chart']) {
    charts[id] = document.querySelectorAll(`#${id} canvas`).length;
  }
  const rate = document.querySelector('#rotation-rate');
  return {
    identity: text('#identity'),
    lastRefresh: text('#last-refresh'),
    readsTotal: text('#reads-total'),
    readsBySecret: rows('#reads-by-secret', ['name', 'count']),
    principals: rows('#principals', ['principal', 'role', 'reads', 'denied']),
    deniedTotal: text('#denied-total'),
    unauthenticatedTotal: text('#unauthenticated-total'),
    denials: rows('#denials', ['principal', 'source', 'error', 'resource']),
    authFailures: rows('#auth-failures', ['source']),
    rotationRate: rate
      ? { text: rate.textContent.trim(), succeeded: rate.dataset.succeeded ?? null,
          failed: rate.dataset.failed ?? null }
      : null,
    rotations: rows('#rotations', ['time', 'outcome', 'message']),
    alarms: rows('#alarms', ['name', 'state', 'reason', 'updated']),
    alarmHistory: [...document.querySelectorAll('#alarm-history li')].map((li) =>
      li.textContent.trim()),
    nearExpiry: rows('#near-expiry', ['why', 'when']),
    panelErrors,
    charts,
    bodyText: document.body.innerText,
  };
}

async function refresh() {
  const before = await page.textContent('#last-refresh');
  await page.click('#refresh');
  await page.waitForFunction(
    (b) => document.querySelector('#last-refresh')?.textContent !== b,
    before,
    { timeout: 20_000 },
  );
  return true;
}

const commands = {
  open,
  signin,
  snapshot: async () => ({
    ...(await page.evaluate(readPage)),
    problems: [...problems],
    refused: refused.length,
  }),
  refresh,
  waitFor: async ({ selector, timeoutMs = 30_000 }) => {
    await page.waitForSelector(selector, { timeout: timeoutMs, state: 'attached' });
    return true;
  },
  screenshot: async ({ path, fullPage = true }) => {
    await page.screenshot({ path, fullPage });
    return path;
  },
  setRegion: async ({ region }) => {
    const before = await page.textContent('#last-refresh');
    await page.fill('#region-filter', region);
    await page.press('#region-filter', 'Enter');
    await page.waitForFunction(
      (b) => document.querySelector('#last-refresh')?.textContent !== b,
      before,
      { timeout: 20_000 },
    );
    return true;
  },
  requests: async () => requests,
  html: async () => page.content(),
  close: async () => {
    await browser?.close();
    browser = null;
    return true;
  },
};

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const message = JSON.parse(line);
    const command = commands[message.cmd];
    if (!command) throw new Error(`no command ${message.cmd}`);
    answer = { ok: true, result: await command(message) };
  } catch (e) {
    answer = { ok: false, error: String(e?.stack ?? e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
  if (answer.ok && JSON.parse(line).cmd === 'close') break;
}
await browser?.close();

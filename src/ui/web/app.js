// coffer dashboard: sign-in, periodic refresh, and one render function per panel.
//
// Rules every panel follows:
//  - all text goes in through textContent (data never reaches innerHTML);
//  - when a panel's call fails, its data elements are emptied and its chart destroyed, so a
//    caller without the permission sees nothing of that data, not even from an earlier refresh.

import {
  AwsError, createClient, describeAlarmHistory, describeAlarms, describeError, describeParameters,
  getAccessSummary, getCallerIdentity, listSecrets,
} from './aws.js';

// Range -> length and bucket size (seconds). Buckets grow with the range so a chart keeps a
// readable number of points (15 to 168).
const RANGES = {
  '15m': { seconds: 15 * 60, period: 60 },
  '1h': { seconds: 60 * 60, period: 60 },
  '6h': { seconds: 6 * 3600, period: 300 },
  '24h': { seconds: 24 * 3600, period: 900 },
  '7d': { seconds: 7 * 86400, period: 3600 },
};
const DAY = 86400;
const NEAR_EXPIRY_DAYS = 30;
const MAX_VALUE_AGE_DAYS = 365; // a secret that never rotates is flagged once its value is older
// ListSecrets/DescribeParameters walk whole accounts, so they run at most once a minute and
// their results (or errors) are reused by the refreshes in between.
const INVENTORY_MAX_AGE_MS = 60_000;
const DEFAULT_REFRESH_SECONDS = 15;
const MIN_REFRESH_SECONDS = 2;

const NO_WEBCRYPTO =
  'The dashboard signs requests with WebCrypto, which browsers offer only over HTTPS or on a ' +
  "loopback address. Open coffer's HTTPS listener or http://127.0.0.1.";

// Series colours: a dark line for the total, then a qualitative palette for the top secrets.
const TOTAL_COLOUR = '#24292f';
const PALETTE = ['#2f6fb3', '#d9822b', '#3a9a5b', '#b8405e', '#7b5ea7', '#1b9aaa', '#a67c00', '#8c564b'];
const FAILURE_COLOURS = { denied: '#cf222e', unauthorized: '#d9822b', unauthenticated: '#7b5ea7' };

// --- State ----------------------------------------------------------------------------------

// The signed-in session. It holds the keys in memory only; sign-out drops it and reloads.
let client = null;
let inFlight = null; // the running refresh, so refreshes never overlap
let refreshAgain = false; // a refresh was asked for while one was running
let timer = 0;
let inventory = null; // { fetchedAt, secrets, parameters }: settled results, reused for a minute
const charts = new Map(); // container id -> { plot, signature, observer }

// --- Small helpers -------------------------------------------------------------------------

const $ = (selector) => document.querySelector(selector);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Epoch seconds from what the APIs send: a number, a numeric string or an ISO date.
export function toEpochSeconds(value) {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim()) {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms / 1000;
  }
  return null;
}

// "2026-12-07 10:15:00Z": UTC, whole seconds, the same everywhere on the page.
export function formatTime(value) {
  const s = toEpochSeconds(value);
  if (s === null) return '';
  return new Date(Math.floor(s) * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function formatDate(value) {
  return formatTime(value).slice(0, 10);
}

// Plain integers (no grouping) so the numbers can be read back by scripts as well as people.
function int(value) {
  const n = Number(value);
  return String(Number.isFinite(n) ? Math.round(n) : 0);
}

function sum(values) {
  return Array.isArray(values) ? values.reduce((a, v) => a + (Number(v) || 0), 0) : 0;
}

// A series exactly as long as the timestamps, whatever the server sent.
function fit(values, length) {
  const out = new Array(length);
  for (let i = 0; i < length; i++) {
    const v = Array.isArray(values) ? Number(values[i]) : NaN;
    out[i] = Number.isFinite(v) ? v : 0;
  }
  return out;
}

// The human name inside a secret ARN: "...:secret:db/password-AbCdEf" -> "db/password".
export function secretNameFromArn(arn) {
  const m = /:secret:(.+?)(-[A-Za-z0-9]{6})?$/.exec(arn ?? '');
  return m ? m[1] : (arn ?? '');
}

// The summary's StartTime for a range: now minus the range, aligned down to the period so
// buckets line up from one refresh to the next. No EndTime is sent: the summary then ends at
// the server's now (its clock, not this browser's, which may be minutes off), with the period
// in progress shown as it fills.
export function timeWindow(rangeKey, nowMs) {
  const range = RANGES[rangeKey] ?? RANGES['1h'];
  const now = Math.floor(nowMs / 1000);
  const start = Math.floor((now - range.seconds) / range.period) * range.period;
  return { startTime: start, period: range.period };
}

function refreshSeconds() {
  const asked = Number(new URLSearchParams(location.search).get('refresh'));
  if (!Number.isFinite(asked) || asked <= 0) return DEFAULT_REFRESH_SECONDS;
  return Math.max(MIN_REFRESH_SECONDS, asked);
}

// --- Panels: errors, tables, charts ----------------------------------------------------------

// Shows (or clears) a panel's error. `whole` says the panel has nothing left to show, so its
// emptied tables and charts are hidden too rather than left as bare headings.
function setPanelError(panelId, error, { whole = true } = {}) {
  document.getElementById(panelId)?.classList.toggle('failed', Boolean(error) && whole);
  const box = document.querySelector(`#${panelId} .panel-error`);
  if (!box) return;
  if (error) {
    box.textContent = describeError(error);
    box.hidden = false;
  } else {
    box.textContent = '';
    box.hidden = true;
  }
}

// Replaces a table's body rows. `items === null` means "no data to show" (the call failed):
// the body is emptied and the "nothing here" note stays hidden, since nothing is known.
function fillTable(tableId, items, buildRow) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...(items ? items.map(buildRow) : []));
  setEmptyNote(tableId, items !== null && items.length === 0);
}

function fillList(listId, items, buildItem) {
  document.getElementById(listId).replaceChildren(...(items ? items.map(buildItem) : []));
  setEmptyNote(listId, items !== null && items.length === 0);
}

function setEmptyNote(forId, show) {
  const note = document.querySelector(`.empty[data-for="${forId}"]`);
  if (note) note.hidden = !show;
}

function row(dataset, cells) {
  const tr = document.createElement('tr');
  for (const [key, value] of Object.entries(dataset)) tr.dataset[key] = value ?? '';
  for (const cell of cells) tr.append(cell);
  return tr;
}

// A cell whose full text is also its tooltip, for columns that CSS may cut short.
function cell(className, text, { title = false } = {}) {
  const td = el('td', className, text ?? '');
  if (title && text) td.title = String(text);
  return td;
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

function destroyChart(containerId) {
  const entry = charts.get(containerId);
  if (entry) {
    entry.observer?.disconnect();
    entry.plot.destroy();
    charts.delete(containerId);
  }
  document.getElementById(containerId)?.replaceChildren();
}

const CHART_HEIGHT = 190;

// X-axis labels in UTC, 24-hour: "14:30", with the date ("12-07") under the first label of
// each day; just the date when ticks are a day or more apart.
function timeAxisLabels(u, splits) {
  const step = splits.length > 1 ? splits[1] - splits[0] : 0;
  let previousDay = '';
  return splits.map((t) => {
    const iso = new Date(t * 1000).toISOString();
    const day = iso.slice(5, 10);
    if (step >= DAY) return day;
    const label = day !== previousDay ? `${iso.slice(11, 16)}\n${day}` : iso.slice(11, 16);
    previousDay = day;
    return label;
  });
}

// Draws or updates a line chart of counts per bucket. The chart is kept (setData) while its
// series stay the same, so hovering and hidden-series toggles survive a refresh; it is rebuilt
// when the series change (another top secret, say).
function drawChart(containerId, timestamps, series) {
  const container = document.getElementById(containerId);
  if (typeof globalThis.uPlot !== 'function') {
    console.warn('uPlot is not loaded; charts are not drawn.');
    return;
  }
  const data = [timestamps, ...series.map((s) => fit(s.values, timestamps.length))];
  const signature = series.map((s) => `${s.label}\u0000${s.colour}`).join('\u0001');
  const existing = charts.get(containerId);
  if (existing && existing.signature === signature) {
    existing.plot.setData(data);
    return;
  }
  destroyChart(containerId);

  const uPlot = globalThis.uPlot;
  const options = {
    width: Math.max(200, container.clientWidth),
    height: CHART_HEIGHT,
    // Axis labels in UTC, like every other time on the page.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: {
      x: { time: true },
      // Counts: from zero, and never an empty axis when everything is zero.
      y: { range: (u, min, max) => [0, uPlot.rangeNum(0, Math.max(1, max), 0.1, true)[1]] },
    },
    axes: [
      {
        stroke: '#57606a',
        grid: { stroke: '#eaeef2' },
        ticks: { stroke: '#d0d7de' },
        values: timeAxisLabels,
      },
      {
        stroke: '#57606a',
        grid: { stroke: '#eaeef2' },
        ticks: { stroke: '#d0d7de' },
        // Whole numbers only: a count of 0.5 means nothing.
        incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000,
          20000, 50000, 100000, 200000, 500000, 1000000],
        values: (u, splits) => splits.map((v) => String(v)),
        size: 44,
      },
    ],
    series: [
      // The legend shows the hovered bucket's time and counts, and nothing when not hovering.
      { label: 'UTC', value: (u, v) => (v === null || v === undefined ? '' : formatTime(v)) },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.colour,
        width: s.width ?? 1.5,
        points: { show: false },
        value: (u, v) => (v === null || v === undefined ? '' : int(v)),
      })),
    ],
  };
  const plot = new uPlot(options, data, container);

  // Charts follow their card's width (window resizes, grid reflow).
  let lastWidth = container.clientWidth;
  const observer = new ResizeObserver(() => {
    const width = container.clientWidth;
    if (width > 0 && width !== lastWidth) {
      lastWidth = width;
      plot.setSize({ width: Math.max(200, width), height: CHART_HEIGHT });
    }
  });
  observer.observe(container);
  charts.set(containerId, { plot, signature, observer });
}

// --- Panel renderers -------------------------------------------------------------------------

function renderReads(summary, error) {
  setPanelError('panel-reads', error);
  if (error) {
    setText('reads-total', '');
    destroyChart('reads-chart');
    fillTable('reads-by-secret', null);
    return;
  }
  const reads = summary.SecretReads ?? {};
  const bySecret = Array.isArray(reads.BySecret) ? reads.BySecret : [];
  const timestamps = Array.isArray(summary.Timestamps) ? summary.Timestamps.map(Number) : [];
  setText('reads-total', int(sum(reads.Total)));

  const colours = new Map(bySecret.map((s, i) => [s.SecretArn, PALETTE[i % PALETTE.length]]));
  drawChart('reads-chart', timestamps, [
    { label: 'All secrets', values: reads.Total, colour: TOTAL_COLOUR, width: 2 },
    ...bySecret.map((s) => ({
      label: s.Name || secretNameFromArn(s.SecretArn),
      values: s.Values,
      colour: colours.get(s.SecretArn),
    })),
  ]);

  fillTable('reads-by-secret', bySecret, (s) => {
    const name = cell('name', s.Name || secretNameFromArn(s.SecretArn));
    name.title = s.SecretArn ?? '';
    // A swatch ties the row to its line in the chart; it has no text, so td.name reads as the name.
    const swatch = el('span', 'swatch');
    swatch.style.backgroundColor = colours.get(s.SecretArn);
    swatch.setAttribute('aria-hidden', 'true');
    name.prepend(swatch);
    return row({ secretArn: s.SecretArn }, [name, cell('count num', int(s.Total))]);
  });
}

function renderPrincipals(summary, error) {
  setPanelError('panel-principals', error);
  const principals = error ? null : (Array.isArray(summary.Principals) ? summary.Principals : []);
  fillTable('principals', principals, (p) => row({ principalArn: p.PrincipalArn }, [
    cell('principal', p.PrincipalArn, { title: true }),
    cell('type', p.Type),
    cell('role', p.Role),
    cell('reads num', int(p.Reads)),
    cell('denied num', int(p.Denied)),
  ]));
}

function renderFailures(summary, error) {
  setPanelError('panel-failures', error);
  if (error) {
    for (const id of ['denied-total', 'unauthorized-total', 'unauthenticated-total']) setText(id, '');
    destroyChart('failures-chart');
    fillTable('denials', null);
    fillTable('auth-failures', null);
    return;
  }
  const timestamps = Array.isArray(summary.Timestamps) ? summary.Timestamps.map(Number) : [];
  setText('denied-total', int(sum(summary.AccessDenied)));
  setText('unauthorized-total', int(sum(summary.UnauthorizedAccess)));
  setText('unauthenticated-total', int(sum(summary.AuthenticationFailures)));
  drawChart('failures-chart', timestamps, [
    { label: 'AccessDenied', values: summary.AccessDenied, colour: FAILURE_COLOURS.denied },
    { label: 'UnauthorizedAccess', values: summary.UnauthorizedAccess, colour: FAILURE_COLOURS.unauthorized },
    { label: 'AuthenticationFailures', values: summary.AuthenticationFailures, colour: FAILURE_COLOURS.unauthenticated },
  ]);

  const denials = Array.isArray(summary.RecentDenials) ? summary.RecentDenials : [];
  fillTable('denials', denials, (d) => row({}, [
    cell('time', formatTime(d.EventTime)),
    cell('event', d.EventName),
    cell('principal', d.PrincipalArn, { title: true }),
    cell('source', d.SourceIPAddress),
    cell('error', d.ErrorCode),
    cell('resource', d.Resource, { title: true }),
  ]));

  const authFailures = Array.isArray(summary.RecentAuthenticationFailures)
    ? summary.RecentAuthenticationFailures : [];
  fillTable('auth-failures', authFailures, (f) => row({}, [
    cell('time', formatTime(f.EventTime)),
    cell('key', f.AccessKeyId),
    cell('reason', f.Reason, { title: true }),
    cell('source', f.SourceIPAddress),
  ]));
}

function renderRotations(summary, error) {
  setPanelError('panel-rotations', error);
  const rate = document.getElementById('rotation-rate');
  rate.classList.remove('rate-good', 'rate-bad');
  if (error) {
    rate.textContent = '';
    delete rate.dataset.succeeded;
    delete rate.dataset.failed;
    fillTable('rotations', null);
    return;
  }
  const succeeded = Math.round(sum(summary.RotationsSucceeded));
  const failed = Math.round(sum(summary.RotationsFailed));
  const total = succeeded + failed;
  rate.dataset.succeeded = String(succeeded);
  rate.dataset.failed = String(failed);
  if (total === 0) {
    rate.textContent = '—';
  } else {
    // Rounded down, so any failure keeps the rate below 100 %.
    rate.textContent = `${Math.floor((100 * succeeded) / total)} % (${succeeded} of ${total})`;
    rate.classList.add(failed ? 'rate-bad' : 'rate-good');
  }

  const rotations = Array.isArray(summary.RecentRotations) ? summary.RecentRotations : [];
  fillTable('rotations', rotations, (r) => {
    const outcome = cell('outcome', r.Outcome);
    outcome.classList.add(`outcome-${String(r.Outcome ?? '').toLowerCase()}`);
    const secret = cell('secret', secretNameFromArn(r.SecretArn));
    secret.title = r.SecretArn ?? '';
    return row({ secretArn: r.SecretArn }, [
      cell('time', formatTime(r.EventTime)),
      secret,
      outcome,
      cell('message', r.Message, { title: true }),
    ]);
  });
}

const STATE_CLASSES = { OK: 'state-ok', ALARM: 'state-alarm', INSUFFICIENT_DATA: 'state-insufficient' };

function renderAlarms(alarms, alarmsError, history, historyError) {
  // Two calls feed this panel; each part is shown only if its own call succeeded.
  setPanelError('panel-alarms', alarmsError ?? historyError, { whole: Boolean(alarmsError && historyError) });
  fillTable('alarms', alarmsError ? null : alarms, (a) => {
    const state = cell('state', a.StateValue);
    state.classList.add(STATE_CLASSES[a.StateValue] ?? 'state-insufficient');
    const name = cell('name', a.AlarmName);
    if (a.Threshold !== undefined && a.Period !== undefined) {
      name.title = `≥ ${a.Threshold} per ${a.Period} s` +
        (a.EvaluationPeriods > 1 ? ` for ${a.EvaluationPeriods} periods` : '');
    }
    return row({ alarmName: a.AlarmName, state: a.StateValue }, [
      name,
      state,
      cell('reason', a.StateReason, { title: true }),
      cell('updated', formatTime(a.StateUpdatedTimestamp)),
    ]);
  });
  fillList('alarm-history', historyError ? null : history, (h) => {
    const li = document.createElement('li');
    li.append(
      el('span', 'time', formatTime(h.Timestamp)),
      el('span', 'alarm', h.AlarmName),
      el('span', 'summary', h.HistorySummary),
    );
    return li;
  });
}

// What needs attention within the next 30 days: rotations due or overdue, never-rotated values
// older than a year, and parameters whose Expiration policy falls in the window.
export function nearExpiry(secrets, parameters, nowSeconds) {
  const horizon = nowSeconds + NEAR_EXPIRY_DAYS * DAY;
  const items = [];
  for (const s of secrets ?? []) {
    if (toEpochSeconds(s.DeletedDate) !== null) continue; // scheduled for deletion: moot
    if (s.RotationEnabled) {
      const next = toEpochSeconds(s.NextRotationDate);
      if (next === null) continue;
      if (next < nowSeconds) {
        items.push({ kind: 'secret', name: s.Name, arn: s.ARN, when: next,
          why: `rotation overdue since ${formatDate(next)}` });
      } else if (next <= horizon) {
        items.push({ kind: 'secret', name: s.Name, arn: s.ARN, when: next,
          why: `rotation due ${formatDate(next)}` });
      }
    } else {
      const changed = toEpochSeconds(s.LastChangedDate) ?? toEpochSeconds(s.CreatedDate);
      if (changed === null) continue;
      const ageDays = Math.floor((nowSeconds - changed) / DAY);
      if (ageDays > MAX_VALUE_AGE_DAYS) {
        items.push({ kind: 'secret', name: s.Name, arn: s.ARN, when: changed,
          why: `rotation off, value ${ageDays} days old` });
      }
    }
  }
  for (const p of parameters ?? []) {
    for (const policy of Array.isArray(p.Policies) ? p.Policies : []) {
      const at = expirationOf(policy);
      if (at === null || at > horizon) continue;
      items.push({ kind: 'parameter', name: p.Name, when: at,
        why: at < nowSeconds ? `parameter expired ${formatDate(at)}` : `parameter expires ${formatDate(at)}` });
    }
  }
  return items.sort((a, b) => a.when - b.when || String(a.name).localeCompare(String(b.name)));
}

function expirationOf(policy) {
  let text = policy?.PolicyText;
  try {
    text = typeof text === 'string' ? JSON.parse(text) : text;
  } catch {
    return null;
  }
  const type = policy?.PolicyType ?? text?.Type;
  if (type !== 'Expiration') return null;
  return toEpochSeconds(text?.Attributes?.Timestamp);
}

function renderExpiry(secretsResult, parametersResult, nowSeconds) {
  const secretsError = secretsResult.ok ? null : secretsResult.error;
  const parametersError = parametersResult.ok ? null : parametersResult.error;
  // Either listing may be refused on its own; what the other returned is still shown.
  setPanelError('panel-expiry', secretsError ?? parametersError,
    { whole: Boolean(secretsError && parametersError) });
  const items = secretsError && parametersError ? null : nearExpiry(
    secretsError ? [] : secretsResult.value, parametersError ? [] : parametersResult.value, nowSeconds);
  fillTable('near-expiry', items, (item) => {
    const name = cell('name', item.name);
    if (item.arn) name.title = item.arn;
    const why = cell('why', item.why);
    if (/overdue|expired/.test(item.why)) why.classList.add('overdue');
    return row({ name: item.name, kind: item.kind }, [
      name,
      cell('kind', item.kind),
      why,
      cell('when', formatTime(item.when)),
    ]);
  });
}

// A bug in one panel's renderer must not blank the others: it shows in that panel instead.
function safely(panelId, render) {
  try {
    render();
  } catch (err) {
    console.error(err);
    setPanelError(panelId, new AwsError('DisplayError', err.message));
  }
}

// --- Refresh ---------------------------------------------------------------------------------

const settle = (promise) => promise.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));

async function runRefresh() {
  const session = client;
  const startedMs = Date.now();
  const span = timeWindow($('#range').value, startedMs);
  const inventoryDue = !inventory || startedMs - inventory.fetchedAt >= INVENTORY_MAX_AGE_MS;

  // One refresh's calls go out together.
  const [summary, alarms, history, secrets, parameters] = await Promise.all([
    settle(getAccessSummary(session, span)),
    settle(describeAlarms(session)),
    settle(describeAlarmHistory(session)),
    inventoryDue ? settle(listSecrets(session)) : inventory.secrets,
    inventoryDue ? settle(describeParameters(session)) : inventory.parameters,
  ]);
  if (session !== client) return; // signed out meanwhile: show nothing
  if (inventoryDue) inventory = { fetchedAt: startedMs, secrets, parameters };

  const summaryError = summary.ok ? null : summary.error;
  const data = summary.ok ? summary.value : null;
  safely('panel-reads', () => renderReads(data, summaryError));
  safely('panel-principals', () => renderPrincipals(data, summaryError));
  safely('panel-failures', () => renderFailures(data, summaryError));
  safely('panel-rotations', () => renderRotations(data, summaryError));
  safely('panel-alarms', () => renderAlarms(
    alarms.ok ? alarms.value : null, alarms.ok ? null : alarms.error,
    history.ok ? history.value : null, history.ok ? null : history.error));
  safely('panel-expiry', () => renderExpiry(secrets, parameters, Math.floor(Date.now() / 1000)));

  const done = new Date();
  const last = $('#last-refresh');
  last.textContent = formatTime(done.getTime() / 1000);
  last.dataset.time = String(Math.floor(done.getTime() / 1000));
}

// Starts a refresh now, or right after the running one: refreshes never overlap. The next
// automatic one is scheduled from the end of this one.
function requestRefresh() {
  if (!client) return;
  if (inFlight) {
    refreshAgain = true;
    return;
  }
  clearTimeout(timer);
  $('#dashboard').setAttribute('aria-busy', 'true');
  inFlight = runRefresh()
    .catch((err) => console.error('refresh failed', err))
    .finally(() => {
      inFlight = null;
      $('#dashboard').removeAttribute('aria-busy');
      if (!client) return;
      if (refreshAgain) {
        refreshAgain = false;
        requestRefresh();
      } else {
        timer = setTimeout(requestRefresh, refreshSeconds() * 1000);
      }
    });
}

// --- Sign-in and sign-out --------------------------------------------------------------------

function showSigninError(message) {
  const box = $('#signin-error');
  box.textContent = message;
  box.hidden = !message;
}

async function signIn(event) {
  event.preventDefault();
  if (!globalThis.crypto?.subtle) return;
  const accessKeyId = $('#access-key-id').value.trim();
  const secretAccessKey = $('#secret-access-key').value.trim();
  const sessionToken = $('#session-token').value.trim();
  const region = $('#region').value.trim() || 'us-east-1';
  if (!accessKeyId || !secretAccessKey) {
    showSigninError('Enter an access key ID and a secret access key.');
    return;
  }
  // The region becomes part of the signature's scope: only the characters a region name has.
  if (!/^[a-z0-9-]+$/i.test(region)) {
    showSigninError('The region may contain only letters, digits and hyphens.');
    return;
  }

  const button = $('#sign-in');
  button.disabled = true;
  showSigninError('');
  const candidate = createClient({ accessKeyId, secretAccessKey, sessionToken, region });
  let identity;
  try {
    identity = await getCallerIdentity(candidate);
  } catch (err) {
    showSigninError(describeError(err));
    button.disabled = false;
    return;
  }

  client = candidate;
  // The keys now live only in the client; the form no longer needs them.
  for (const id of ['#access-key-id', '#secret-access-key', '#session-token']) $(id).value = '';

  const who = $('#identity');
  who.replaceChildren(
    el('span', 'account', identity.account),
    ' ', // so the text reads "account arn" when copied
    el('span', 'arn', identity.arn),
  );
  who.title = identity.userId ? `User ID ${identity.userId}` : '';
  $('#region-shown').textContent = region;
  $('#region-filter').value = region;
  $('#signin').hidden = true;
  $('#dashboard').hidden = false;
  requestRefresh();
}

// Every call is signed for one region and sees that region's data (as the AWS APIs do): changing
// the region signs the next refresh for the new one, with the listings fetched afresh.
function changeRegion(event) {
  event.preventDefault();
  const region = $('#region-filter').value.trim();
  if (!client || !/^[a-z0-9-]+$/i.test(region) || region === client.region) {
    if (client) $('#region-filter').value = client.region;
    return;
  }
  client = client.withRegion(region);
  inventory = null;
  $('#region-shown').textContent = region;
  requestRefresh();
}

function signOut() {
  // Dropping the client forgets the keys; the reload clears everything else the page drew.
  client = null;
  clearTimeout(timer);
  location.reload();
}

function start() {
  $('#signin-form').addEventListener('submit', signIn);
  $('#sign-out').addEventListener('click', signOut);
  $('#refresh').addEventListener('click', requestRefresh);
  $('#range').addEventListener('change', requestRefresh);
  $('#region-form').addEventListener('submit', changeRegion);
  $('#region-filter').addEventListener('change', changeRegion);

  if (!globalThis.crypto?.subtle) {
    showSigninError(NO_WEBCRYPTO);
    $('#sign-in').disabled = true;
    return;
  }
  $('#sign-in').disabled = false;
  $('#access-key-id').focus();
}

// The exported helpers above need no page, so they can be checked under Node; the page itself
// starts only where there is a document.
if (typeof document !== 'undefined') start();

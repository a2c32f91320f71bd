/* app.js: trailmap's web page.
 *
 * Plain JavaScript, no framework and no build step: trailmapd compiles this
 * file into its binary as it is.  Everything on screen comes from the JSON
 * endpoints under api/ (see server/http.h), which run the same API methods
 * as the trailmap command, with the same token.
 *
 * Routes (location.hash, so a link can be pasted into a ticket):
 *   #/                              sessions (#/?q=TEXT&from=TIME&to=TIME)
 *   #/session/KEY                   a session's timeline
 *   #/session/KEY/signal/ID         ... with one signal's raw events open
 * KEY and ID are encodeURIComponent'd.
 *
 * Text from the server is only ever put on the page as text (textContent),
 * never parsed as HTML. */
'use strict';

const TOKEN_KEY = 'trailmap.token';
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948', '#9c755f',
  '#ff9da7', '#2f4b7c', '#a05195', '#665191'];
const NA_COLOR = '#9aa3b2';
/* trailmap's own signals, beside the reference's console actions */
const KIND_TITLE = {
  signin: 'a sign-in event',
  api: 'calls made by an API client (CLI, SDK, automation), not in the console',
  action: 'a console change no rule recognises',
};
const IDLE_CAP_MS = 5 * 60 * 1000;  /* longer pauses do not count as time on a page */

const main = document.getElementById('main');
const drawer = document.getElementById('drawer');
const scrim = document.getElementById('scrim');

/* ------------------------------------------------------------------ DOM */

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : String(k));
  }
  return e;
}

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(e, attrs);
  for (const k of kids.flat(Infinity)) if (k !== null && k !== undefined && k !== false) e.append(k);
  return e;
}

function setAttrs(e, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.setAttribute('class', v);
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
}

let toastTimer = 0;
function toast(msg) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 2200);
}

/* ------------------------------------------------------------ formatting */

const pad = (n, w = 2) => String(n).padStart(w, '0');

/* "2024-04-13 05:11:21" in UTC (CloudTrail's clock) */
function fmtDateTime(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function fmtClock(ms, withDate) {
  const d = new Date(ms);
  const t = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return withDate ? `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${t}` : t;
}

function isoOf(ms) { return new Date(ms).toISOString().replace('.000Z', 'Z'); }

/* like the table of `trailmap map`: 45s, 3m05s, 2h07m */
function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
}

function fmtPercent(x) { return `${(100 * x).toFixed(x >= 0.9995 || x === 0 ? 0 : 1)}%`; }

const enc = encodeURIComponent;

/* A datetime-local value ("2024-04-13T05:11") as UTC ISO, or "" */
function localInputToIso(v) {
  if (!v) return '';
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v)) return `${v}:00Z`;
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/.test(v)) return `${v}Z`;
  return v;
}
function isoToLocalInput(v) { return v ? v.replace(/Z$/, '').replace(/:00$/, '') : ''; }

/* AdditionalData's key values, as the table of `trailmap map` shows them */
function keyValues(data) {
  const out = [];
  if (!data || typeof data !== 'object' || Array.isArray(data)) return out;
  for (const [k, v] of Object.entries(data)) {
    if (v === null || (typeof v === 'object' && !Array.isArray(v))) continue;
    const text = Array.isArray(v)
      ? v.map((e) => (e !== null && typeof e === 'object' ? JSON.stringify(e) : String(e))).join(',')
      : String(v);
    out.push([k, text]);
  }
  return out;
}

/* Pretty JSON as highlighted text nodes (no HTML parsing) */
function jsonBlock(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  const pre = el('pre', { class: 'json', tabindex: 0 });
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) pre.append(text.slice(last, m.index));
    if (m[1] !== undefined) {
      pre.append(el('span', { class: m[2] ? 'k' : 's' }, m[1]));
      if (m[2]) pre.append(m[2]);
    } else {
      pre.append(el('span', { class: m[3] ? 'l' : 'n' }, m[0]));
    }
    last = re.lastIndex;
  }
  if (last < text.length) pre.append(text.slice(last));
  return pre;
}

function prettyRaw(raw) {
  try { return JSON.stringify(JSON.parse(raw), null, 2); } catch (e) { return raw; }
}

/* ------------------------------------------------------------------- API */

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/* libnng 1.5.2's HTTP server overruns its buffer on a request target that
 * ends in a %-escape (a session key ending in ':' or ' '), before trailmapd
 * sees the request; this page never sends one (see README, "The web page"). */
function safeTarget(path) {
  return /%[0-9A-Fa-f]{2}$/.test(path) ? `${path}${path.includes('?') ? '&' : '?'}_=1` : path;
}

async function api(path, raw) {
  path = safeTarget(path);
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  let r;
  try {
    r = await fetch(path, { headers, cache: 'no-store' });
  } catch (e) {
    throw new HttpError(0, `trailmapd cannot be reached (${e.message})`);
  }
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
    throw new HttpError(r.status, msg);
  }
  return raw ? r : r.json();
}

async function download(path, fallback) {
  try {
    const r = await api(path, true);
    const blob = await r.blob();
    const m = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '');
    const a = el('a', { href: URL.createObjectURL(blob), download: m ? m[1] : fallback });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 30000);
    toast(`Saved ${m ? m[1] : fallback}`);
  } catch (e) {
    if (e.status === 401) return showLogin(e.message);
    toast(`Export failed: ${e.message}`);
  }
}

async function copyLink(url) {
  try {
    await navigator.clipboard.writeText(url);
    toast('Link copied');
  } catch (e) {
    window.prompt('Copy this link', url);
  }
}

/* ---------------------------------------------------------------- chrome */

function setCrumbs(here) {
  const c = document.getElementById('crumbs');
  c.replaceChildren();
  if (!here) {
    c.append(el('span', { class: 'here' }, 'Sessions'));
    return;
  }
  c.append(el('a', { href: '#/' }, 'Sessions'), el('span', { class: 'sep', 'aria-hidden': 'true' }, '›'),
    el('span', { class: 'here', 'aria-current': 'page' }, here));
}

let healthShown = false;
async function showHealth() {
  document.getElementById('signout').hidden = !sessionStorage.getItem(TOKEN_KEY);
  if (healthShown) return;
  try {
    const h = await api('api/health');
    document.getElementById('server-info').textContent = `trailmapd ${h.version} · rules ${h.rulesVersion}`;
    healthShown = true;
  } catch (e) { /* shown where it matters */ }
}

function showError(e, where) {
  if (e.status === 401) return showLogin(e.message);
  (where || main).replaceChildren(el('div', { class: 'error', role: 'alert' }, e.message));
  return undefined;
}

/* Rows of a table as one tab stop: arrows move, Enter opens. */
function rovingRows(tbody, open) {
  tbody.addEventListener('keydown', (ev) => {
    const row = ev.target.closest('tr');
    if (!row || ev.target !== row) return;
    const rows = [...tbody.rows];
    let i = rows.indexOf(row);
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); open(row); return; }
    if (ev.key === 'ArrowDown') i = Math.min(rows.length - 1, i + 1);
    else if (ev.key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (ev.key === 'Home') i = 0;
    else if (ev.key === 'End') i = rows.length - 1;
    else return;
    ev.preventDefault();
    rows[i].focus();
  });
  tbody.addEventListener('focusin', (ev) => {
    const row = ev.target.closest('tr');
    if (!row || row.parentNode !== tbody) return;
    for (const r of tbody.rows) r.tabIndex = r === row ? 0 : -1;
  });
  tbody.addEventListener('click', (ev) => {
    if (ev.target.closest('a')) return;  /* a real link does its own thing */
    const row = ev.target.closest('tr');
    if (row && row.parentNode === tbody) open(row);
  });
}

function setRoving(tbody) {
  [...tbody.rows].forEach((r, i) => { r.tabIndex = i === 0 ? 0 : -1; });
}

/* Sortable header cells: cols = [{id, label, num}], state = {col, dir} */
function sortableHead(cols, state, onSort) {
  const tr = el('tr');
  for (const c of cols) {
    const th = el('th', { scope: 'col', class: c.num ? 'num' : null });
    if (c.sort === false) {
      th.textContent = c.label;
    } else {
      th.setAttribute('aria-sort', state.col === c.id ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
      th.append(el('button', {
        type: 'button',
        onclick: () => {
          if (state.col === c.id) state.dir = -state.dir;
          else { state.col = c.id; state.dir = c.num || c.time ? -1 : 1; }
          onSort();
        },
      }, c.label));
    }
    tr.append(th);
  }
  return el('thead', null, tr);
}

/* ------------------------------------------------------------- sign-in */

function showLogin(message) {
  closeDrawer(false);
  setCrumbs('Sign in');
  document.title = 'Sign in · trailmap';
  const had = !!sessionStorage.getItem(TOKEN_KEY);
  const err = el('p', { class: 'error', role: 'alert', hidden: !had });
  if (had) err.textContent = `The server did not accept the token: ${message}`;
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById('signout').hidden = true;
  const input = el('input', {
    type: 'password', id: 'token', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': 'token-help',
  });
  const form = el('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      try {
        await api('api/health');
        healthShown = false;
        route();
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        err.textContent = e.status === 401 || e.status === 403
          ? `The server did not accept this token (${e.message}).` : e.message;
        err.hidden = false;
        input.select();
      }
    },
  },
  el('label', { for: 'token' }, 'Access token'),
  input,
  el('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in'));
  main.replaceChildren(el('section', { class: 'panel login' },
    el('h1', null, 'Sign in'),
    el('p', { id: 'token-help' }, 'This trailmapd checks access tokens. Paste a token with the read role ' +
      '(the one you give the trailmap command with --token). It is kept for this tab only.'),
    err, form));
  input.focus();
}

/* ------------------------------------------------------------- sessions */

const sessionsState = { col: 'last', dir: -1 };

async function loadSessions(from, to) {
  const out = [];
  let token = '';
  do {
    const qs = new URLSearchParams({ page_size: '1000' });
    if (token) qs.set('page_token', token);
    if (from) qs.set('from', from);
    if (to) qs.set('to', to);
    const d = await api(`api/sessions?${qs}`);
    out.push(...d.sessions);
    token = d.nextPageToken;
  } while (token && out.length < 200000);
  return out;
}

function sessionWho(s) {
  if (s.userName) return s.userName;
  if (s.principalArn) return s.principalArn.split(/[/:]/).pop() || s.principalArn;
  return s.key;
}

/* The key, unless it is only the principal and its sign-in time */
function keyNote(s) {
  if (s.principalArn && s.key.startsWith(`${s.principalArn}#`)) return `signed in ${s.key.slice(s.principalArn.length + 1)}`;
  return s.key;
}

async function renderSessions(params, seq) {
  const q = params.get('q') || '';
  const from = params.get('from') || '';
  const to = params.get('to') || '';
  setCrumbs(null);
  document.title = 'Sessions · trailmap';
  if (!main.querySelector('#sessions')) main.replaceChildren(el('p', { class: 'loading' }, 'Loading sessions…'));
  let list;
  try {
    list = await loadSessions(from, to);
  } catch (e) {
    if (seq === routeSeq) showError(e);
    return;
  }
  if (seq !== routeSeq) return;
  showHealth();

  const search = el('input', {
    type: 'search', id: 'session-filter', placeholder: 'Filter: principal, user, key, IP…', value: q,
    'aria-label': 'Filter sessions by text',
  });
  const fromIn = el('input', { type: 'datetime-local', id: 'from', step: 1, value: isoToLocalInput(from), 'aria-label': 'From (UTC)' });
  const toIn = el('input', { type: 'datetime-local', id: 'to', step: 1, value: isoToLocalInput(to), 'aria-label': 'To (UTC)' });
  const count = el('span', { class: 'count', id: 'session-count', 'aria-live': 'polite' });
  const tbody = el('tbody');
  const table = el('table', { class: 'grid sessions', id: 'sessions' });
  const cols = [
    { id: 'who', label: 'Principal' },
    { id: 'first', label: 'First event', time: true },
    { id: 'last', label: 'Last event', time: true },
    { id: 'duration', label: 'Duration', num: true },
    { id: 'events', label: 'Events', num: true },
    { id: 'signals', label: 'Signals', num: true },
    { id: 'mapped', label: 'Mapped', num: true },
  ];
  const keyOf = {
    who: (s) => sessionWho(s).toLowerCase(),
    first: (s) => s.firstEventMs,
    last: (s) => s.lastEventMs,
    duration: (s) => s.lastEventMs - s.firstEventMs,
    events: (s) => s.events,
    signals: (s) => s.signals,
    mapped: (s) => (s.signals || !s.events ? s.mappedShare : -1),
  };

  function writeUrl() {
    const p = new URLSearchParams();
    if (search.value) p.set('q', search.value);
    const f = localInputToIso(fromIn.value);
    const t = localInputToIso(toIn.value);
    if (f) p.set('from', f);
    if (t) p.set('to', t);
    const s = p.toString();
    history.replaceState(null, '', s ? `#/?${s}` : '#/');
  }

  function draw() {
    const needle = search.value.trim().toLowerCase();
    const rows = list.filter((s) => !needle ||
      [s.key, s.principalArn, s.userName, s.userAgentFamily, ...(s.sourceIps || [])]
        .some((v) => v && v.toLowerCase().includes(needle)));
    const k = keyOf[sessionsState.col];
    rows.sort((a, b) => {
      const x = k(a);
      const y = k(b);
      return (x < y ? -1 : x > y ? 1 : 0) * sessionsState.dir || (a.key < b.key ? -1 : 1);
    });
    table.replaceChildren(sortableHead(cols, sessionsState, draw), tbody);
    tbody.replaceChildren(...rows.map((s) => {
      const href = `#/session/${enc(s.key)}`;
      const mapped = s.signals || !s.events;
      const bar = el('span');
      bar.style.width = `${Math.round(100 * (mapped ? s.mappedShare : 0))}%`;
      if (s.mappedShare < 0.9) bar.className = 'low';
      return el('tr', { dataset: { key: s.key } },
        el('td', null,
          el('a', { class: 'who', href }, sessionWho(s)),
          s.principalArn && s.principalArn !== sessionWho(s) ? el('div', { class: 'sub' }, s.principalArn) : null,
          el('div', { class: 'sub mono' }, keyNote(s))),
        el('td', { class: 'time', title: s.firstEventTime || '' }, fmtDateTime(s.firstEventMs)),
        el('td', { class: 'time', title: s.lastEventTime || '' }, fmtDateTime(s.lastEventMs)),
        el('td', { class: 'num' }, fmtDuration(s.lastEventMs - s.firstEventMs)),
        el('td', { class: 'num' }, s.events.toLocaleString('en-US')),
        el('td', { class: 'num', title: mapped ? null : 'not mapped yet: open the session to map it' },
          mapped ? s.signals.toLocaleString('en-US') : '–'),
        el('td', { class: 'num' }, mapped
          ? el('div', { class: 'share' }, fmtPercent(s.mappedShare), el('span', { class: 'bar', 'aria-hidden': 'true' }, bar))
          : '–'));
    }));
    setRoving(tbody);
    count.textContent = rows.length === list.length ? `${list.length} sessions`
      : `${rows.length} of ${list.length} sessions`;
    if (!rows.length) {
      tbody.append(el('tr', null, el('td', { colspan: cols.length, class: 'empty' },
        list.length ? 'No session matches the filter.' : 'No sessions yet. Send events with: trailmap submit FILE…')));
    }
  }

  rovingRows(tbody, (row) => { if (row.dataset.key) location.hash = `#/session/${enc(row.dataset.key)}`; });
  search.addEventListener('input', () => { draw(); writeUrl(); });
  const onRange = () => { writeUrl(); route(); };
  fromIn.addEventListener('change', onRange);
  toIn.addEventListener('change', onRange);
  const clear = el('button', {
    type: 'button', class: 'btn', onclick: () => {
      search.value = ''; fromIn.value = ''; toIn.value = ''; writeUrl(); route();
    },
  }, 'Clear');

  main.replaceChildren(
    el('section', { class: 'panel' },
      el('div', { class: 'section-head' },
        el('h1', null, 'Sessions'), count,
        el('div', { class: 'filters' }, search,
          el('label', { class: 'inline' }, 'From', fromIn),
          el('label', { class: 'inline' }, 'To', toIn),
          el('span', { class: 'count' }, 'UTC'), clear)),
      el('div', { class: 'table-wrap' }, table)));
  draw();
  if (q) { search.focus(); search.setSelectionRange(q.length, q.length); }
}

/* -------------------------------------------------------------- session */

let current = null;   /* {key, data, colors, showSuppressed, filter, opener, signalId} */

function serviceColors(signals) {
  const colors = new Map();
  let i = 0;
  for (const s of signals) {
    if (colors.has(s.service)) continue;
    colors.set(s.service, s.service === 'N/A' ? NA_COLOR : PALETTE[i++ % PALETTE.length]);
  }
  return colors;
}

function sessionHash(key) { return `#/session/${enc(key)}`; }
function signalHash(key, id) { return `${sessionHash(key)}/signal/${enc(id)}`; }

function visibleSignals() {
  const needle = current.filter.trim().toLowerCase();
  return current.data.signals.filter((s) => {
    if (s.suppressed && !current.showSuppressed) return false;
    if (!needle) return true;
    return [s.name, s.summary, s.service, s.label, s.correlationId,
      ...keyValues(s.additionalData).map(([k, v]) => `${k}=${v}`)]
      .some((v) => v && v.toLowerCase().includes(needle));
  });
}

async function renderSession(key, seq) {
  setCrumbs(key);
  document.title = 'Session · trailmap';
  main.replaceChildren(el('p', { class: 'loading' }, 'Loading the session…'));
  let data;
  try {
    data = await api(`api/sessions/${enc(key)}`);
  } catch (e) {
    if (seq === routeSeq) {
      current = null;
      showError(e);
      if (e.status !== 401) main.append(el('p', null, el('a', { href: '#/' }, '← All sessions')));
    }
    return false;
  }
  if (seq !== routeSeq) return false;
  showHealth();
  const s = data.session || { key };
  current = {
    key, data, colors: serviceColors(data.signals), showSuppressed: false, filter: '', opener: null,
    signalId: null,
  };
  const who = sessionWho(s);
  setCrumbs(who);
  document.title = `${who} · trailmap`;

  const nsup = data.signals.filter((x) => x.suppressed).length;
  const facts = [
    ['First event', fmtDateTime(s.firstEventMs) + ' UTC'],
    ['Last event', fmtDateTime(s.lastEventMs) + ' UTC'],
    ['Duration', fmtDuration(s.lastEventMs - s.firstEventMs)],
    ['Events', (s.events || 0).toLocaleString('en-US')],
    ['Signals', `${data.signals.length - nsup} + ${nsup} background`],
    ['Mapped', fmtPercent(s.mappedShare || 0)],
  ];
  if (s.sourceIps && s.sourceIps.length) facts.push(['Source IPs', s.sourceIps.join(', ')]);
  if (s.userAgentFamily) facts.push(['User agent', s.userAgentFamily]);
  facts.push(['Rules', data.rulesVersion]);

  const head = el('section', { class: 'panel session-head' },
    el('div', null,
      el('h1', { id: 'session-title' }, who),
      s.principalArn && s.principalArn !== who ? el('div', { class: 'key' }, s.principalArn) : null,
      el('div', { class: 'key', id: 'session-key', hidden: key === who }, key)),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'btn', onclick: () => copyLink(new URL(sessionHash(key), location.href).href) }, 'Copy link'),
      el('button', {
        type: 'button', class: 'btn', id: 'export-cartographer',
        title: 'What `trailmap signals --format cartographer` prints',
        onclick: () => download(`api/sessions/${enc(key)}/cartographer.json`, 'cartographer.json'),
      }, '⤓ Cartographer JSON'),
      el('button', {
        type: 'button', class: 'btn', id: 'export-jsonl',
        title: 'What `trailmap events --format jsonl` prints: every event, tagged',
        onclick: () => download(`api/sessions/${enc(key)}/events.jsonl`, 'events.jsonl'),
      }, '⤓ Events JSONL')),
    el('dl', { class: 'facts' }, facts.map(([k, v]) => el('div', null, el('dt', null, k), el('dd', null, v)))));

  /* activity chart */
  const chartBox = el('div', { class: 'chart-wrap', id: 'chart' });
  const legend = el('div', { class: 'legend', id: 'legend' });
  const chartPanel = el('section', { class: 'panel section', 'aria-labelledby': 'activity-title' },
    el('div', { class: 'section-head' }, el('h2', { id: 'activity-title' }, 'Activity'),
      el('span', { class: 'count' }, 'time in UTC · click a bar to open its signal')),
    chartBox, legend,
    el('p', { class: 'chart-note' }, 'Each bar is a signal: solid while its events last, faded until the next ' +
      'action (pauses over 5 minutes are not counted). The legend adds up that time per service.'));

  /* the timeline */
  const filter = el('input', {
    type: 'search', id: 'signal-filter', placeholder: 'Filter: name, summary, service, values…',
    'aria-label': 'Filter signals by text',
  });
  const toggle = el('input', { type: 'checkbox', id: 'show-suppressed' });
  const count = el('span', { class: 'count', id: 'signal-count', 'aria-live': 'polite' });
  const tbody = el('tbody');
  const table = el('table', { class: 'grid timeline', id: 'timeline' },
    el('thead', null, el('tr', null,
      el('th', { scope: 'col' }, 'Time'), el('th', { scope: 'col', class: 'num' }, 'Duration'),
      el('th', { scope: 'col' }, 'Service'), el('th', { scope: 'col' }, 'Signal'),
      el('th', { scope: 'col' }, 'Summary'), el('th', { scope: 'col', class: 'num' }, 'Events'),
      el('th', { scope: 'col' }, 'Key data'))),
    tbody);
  const timeline = el('section', { class: 'panel section', 'aria-labelledby': 'timeline-title' },
    el('div', { class: 'section-head' },
      el('h2', { id: 'timeline-title' }, 'Timeline'), count,
      el('div', { class: 'filters' }, filter,
        el('label', { class: 'toggle', for: 'show-suppressed' }, toggle,
          nsup ? `Show ${nsup} background signal${nsup === 1 ? '' : 's'}` : 'Show background signals'))),
    el('div', { class: 'table-wrap' }, table));

  /* events no signal took */
  const unmapped = el('section', { class: 'panel section', id: 'unmapped', 'aria-labelledby': 'unmapped-title' },
    el('div', { class: 'section-head' },
      el('h2', { id: 'unmapped-title' }, 'Unmapped events'),
      el('span', { class: 'count', id: 'unmapped-count' }, `${data.unmappedEvents}`)),
    el('div', { class: 'chart-wrap', id: 'unmapped-list' },
      data.unmappedEvents ? el('p', { class: 'loading' }, 'Loading…')
        : el('p', { class: 'empty' }, 'Every event of this session is part of a signal.')));

  main.replaceChildren(head, chartPanel, timeline, unmapped);

  const multiDay = new Date(s.firstEventMs).toISOString().slice(0, 10) !==
    new Date(s.lastEventMs || s.firstEventMs).toISOString().slice(0, 10);

  function drawRows() {
    const rows = visibleSignals();
    tbody.replaceChildren(...rows.map((g) => {
      const kv = keyValues(g.additionalData);
      return el('tr', { class: g.suppressed ? 'suppressed' : null, dataset: { id: g.correlationId } },
        el('td', { class: 'time', title: g.eventTime }, fmtClock(g.eventTimeMs, multiDay)),
        el('td', { class: 'num' }, fmtDuration(g.lastEventMs - g.firstEventMs)),
        el('td', { class: 'svc' }, el('span', { class: 'dot', 'aria-hidden': 'true', style: null }), g.service),
        el('td', { class: 'name' }, g.name, g.suppressed ? [' ', el('span', { class: 'tag' }, 'background')] : null,
          g.kind ? [' ', el('span', { class: 'tag', title: KIND_TITLE[g.kind] || '' }, g.kind)] : null),
        el('td', { class: 'summary' }, el('div', { class: 'clamp', title: g.summary }, g.summary)),
        el('td', { class: 'num' }, g.eventCount),
        el('td', { class: 'kv' }, kv.length ? el('div', { class: 'kvs' }, kv.slice(0, 4).map(([k, v]) =>
          el('span', { title: `${k}=${v}` }, el('b', null, k), `=${v}`)),
        kv.length > 4 ? el('span', null, `+${kv.length - 4}`) : null) : null));
    }));
    /* colours: CSSOM, which the page's Content-Security-Policy allows */
    [...tbody.rows].forEach((tr, i) => {
      tr.querySelector('.dot').style.background = current.colors.get(rows[i].service) || NA_COLOR;
      if (rows[i].correlationId === current.signalId) tr.classList.add('selected');
    });
    setRoving(tbody);
    if (!rows.length) {
      tbody.append(el('tr', null, el('td', { colspan: 7, class: 'empty' },
        data.signals.length ? 'No signal matches the filter.' : 'No signals: no rule explains these events.')));
    }
    const shown = rows.length;
    const all = current.showSuppressed ? data.signals.length : data.signals.length - nsup;
    count.textContent = shown === all ? `${shown} signals` : `${shown} of ${all} signals`;
    drawChart(chartBox, legend, rows);
  }
  current.redraw = drawRows;

  rovingRows(tbody, (row) => {
    if (!row.dataset.id) return;
    current.opener = row;
    location.hash = signalHash(key, row.dataset.id);
  });
  filter.addEventListener('input', () => { current.filter = filter.value; drawRows(); });
  toggle.addEventListener('change', () => { current.showSuppressed = toggle.checked; drawRows(); });
  drawRows();
  if (data.unmappedEvents) loadUnmapped(key, document.getElementById('unmapped-list'), '');
  if (typeof ResizeObserver === 'function') {
    let frame = 0;
    let width = chartBox.clientWidth;
    const ro = new ResizeObserver(() => {
      if (!chartBox.isConnected) { ro.disconnect(); return; }
      if (chartBox.clientWidth === width) return;
      width = chartBox.clientWidth;
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => drawChart(chartBox, legend, visibleSignals()));
    });
    ro.observe(chartBox);
  }
  main.focus({ preventScroll: true });
  return true;
}

/* Raw events as a list of <details>; the JSON is formatted when opened. */
function eventList(events) {
  return events.map((e) => {
    const d = el('details', { class: 'event', dataset: { id: e.eventId } },
      el('summary', null,
        el('span', { class: 'time', title: e.eventTime }, fmtClock(e.eventTimeMs, false)),
        el('span', { class: 'nm' }, e.name),
        el('span', { class: 'id' }, e.eventId)));
    d.addEventListener('toggle', () => {
      if (!d.open || d.querySelector('pre')) return;
      d.append(el('div', { class: 'ev-actions' },
        el('button', { type: 'button', class: 'btn', onclick: () => copyText(e.raw, 'Event JSON copied') }, 'Copy JSON'),
        e.signal ? null : el('span', { class: 'count' }, e.labels.length ? `labels: ${e.labels.join(', ')}` : '')),
      jsonBlock(prettyRaw(e.raw)));
    });
    return d;
  });
}

async function copyText(text, done) {
  try { await navigator.clipboard.writeText(text); toast(done); } catch (e) { toast('Copying is not allowed here'); }
}

async function loadUnmapped(key, box, token) {
  try {
    const qs = new URLSearchParams({ unmapped: '1', page_size: '1000' });
    if (token) qs.set('page_token', token);
    const d = await api(`api/sessions/${enc(key)}/events?${qs}`);
    if (!current || current.key !== key) return;
    if (!token) box.replaceChildren();
    box.querySelector('.more')?.remove();
    box.append(...eventList(d.events));
    if (d.nextPageToken) {
      box.append(el('button', { type: 'button', class: 'btn more', onclick: () => loadUnmapped(key, box, d.nextPageToken) },
        'Load more'));
    }
  } catch (e) {
    showError(e, box);
  }
}

/* ---------------------------------------------------------------- chart */

function niceStep(spanMs, want) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
    .map((s) => s * 1000);
  for (const s of steps) if (spanMs / s <= want) return s;
  return Math.ceil(spanMs / want / 86400000) * 86400000;
}

function drawChart(box, legend, signals) {
  box.replaceChildren();
  legend.replaceChildren();
  if (!signals.length) {
    box.append(el('p', { class: 'empty' }, 'Nothing to draw.'));
    return;
  }
  const sorted = [...signals].sort((a, b) => a.firstEventMs - b.firstEventMs);
  /* time on a page: from a signal's first event to the next signal's, at
   * least its own events, and idle pauses capped */
  const spans = sorted.map((s, i) => {
    const next = i + 1 < sorted.length ? sorted[i + 1].firstEventMs : s.lastEventMs;
    const end = Math.max(s.lastEventMs, Math.min(next, s.lastEventMs + IDLE_CAP_MS));
    return { s, start: s.firstEventMs, last: s.lastEventMs, end };
  });
  const lanes = [];
  for (const sp of spans) if (!lanes.includes(sp.s.service)) lanes.push(sp.s.service);
  const W = Math.max(560, box.clientWidth || 900);
  const left = 138;
  const right = 14;
  const top = 24;
  const laneH = 26;
  const barH = 14;
  const H = top + lanes.length * laneH + 6;
  const t0 = spans[0].start;
  const t1 = Math.max(t0 + 1000, ...spans.map((x) => x.end));
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (W - left - right);

  const root = svg('svg', {
    class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `Activity from ${fmtDateTime(t0)} to ${fmtDateTime(t1)} UTC, ${signals.length} signals in ${lanes.length} services`,
  });
  lanes.forEach((name, i) => {
    root.append(svg('rect', { class: 'lane-bg', x: left, y: top + i * laneH + 2, width: W - left - right, height: laneH - 4, rx: 3 }));
    const label = svg('text', { class: 'lane-label', x: left - 10, y: top + i * laneH + laneH / 2 + 4, 'text-anchor': 'end' });
    label.textContent = name.length > 18 ? `${name.slice(0, 17)}…` : name;
    root.append(label);
  });
  const step = niceStep(t1 - t0, Math.max(3, Math.floor((W - left - right) / 110)));
  const withSec = step < 60000;
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const g = svg('g', { class: 'tick' });
    g.append(svg('line', { x1: x(t), x2: x(t), y1: top - 4, y2: H - 4 }));
    const tx = svg('text', { x: x(t), y: top - 9, 'text-anchor': 'middle' });
    const c = fmtClock(t, false);
    tx.textContent = withSec ? c : c.slice(0, 5);
    g.append(tx);
    root.append(g);
  }
  const perService = new Map();
  for (const sp of spans) {
    const s = sp.s;
    const lane = lanes.indexOf(s.service);
    const color = current.colors.get(s.service) || NA_COLOR;
    const y = top + lane * laneH + (laneH - barH) / 2;
    const x0 = x(sp.start);
    const solidW = Math.max(3, x(sp.last) - x0);
    const tailW = Math.max(0, x(sp.end) - x0);
    perService.set(s.service, (perService.get(s.service) || 0) + (sp.end - sp.start));
    const g = svg('g', { class: `bar${s.correlationId === current.signalId ? ' current' : ''}`, dataset: { id: s.correlationId } });
    const title = svg('title');
    title.textContent = `${fmtClock(s.eventTimeMs, false)}  ${s.name}\n${s.eventCount} events, ` +
      `${fmtDuration(s.lastEventMs - s.firstEventMs)}; next action after ${fmtDuration(sp.end - sp.start)}`;
    g.append(title);
    if (tailW > solidW) g.append(svg('rect', { x: x0, y, width: tailW, height: barH, rx: 2, fill: color, 'fill-opacity': 0.28 }));
    g.append(svg('rect', { class: 'solid', x: x0, y, width: solidW, height: barH, rx: 2, fill: color, 'fill-opacity': s.suppressed ? 0.45 : 1 }));
    g.addEventListener('click', () => {
      current.opener = null;
      location.hash = signalHash(current.key, s.correlationId);
    });
    root.append(g);
  }
  box.append(root);
  const total = [...perService.values()].reduce((a, b) => a + b, 0) || 1;
  for (const name of lanes) {
    const ms = perService.get(name) || 0;
    const dot = el('span', { class: 'dot', 'aria-hidden': 'true' });
    dot.style.background = current.colors.get(name) || NA_COLOR;
    legend.append(el('span', { class: 'item' }, dot, name,
      el('span', { class: 't' }, `${fmtDuration(ms)} · ${Math.round((100 * ms) / total)}%`)));
  }
}

/* --------------------------------------------------------------- drawer */

function focusables(root) {
  return [...root.querySelectorAll('a[href], button:not([disabled]), input, summary, [tabindex]:not([tabindex="-1"])')]
    .filter((e) => !e.closest('[hidden]') && e.offsetParent !== null);
}

function closeDrawer(updateUrl) {
  if (drawer.hidden) return;
  drawer.hidden = true;
  scrim.hidden = true;
  drawer.replaceChildren();
  if (current) {
    const id = current.signalId;
    current.signalId = null;
    for (const r of document.querySelectorAll('#timeline tr.selected')) r.classList.remove('selected');
    for (const b of document.querySelectorAll('#chart .bar.current')) b.classList.remove('current');
    if (updateUrl) history.replaceState(null, '', sessionHash(current.key));
    /* back to the row that opened it, or the row of the signal */
    const back = current.opener && current.opener.isConnected ? current.opener
      : id && document.querySelector(`#timeline tr[data-id="${CSS.escape(id)}"]`);
    current.opener = null;
    if (back) back.focus();
  }
}

function openSignal(id) {
  const list = current.data.signals;
  const idx = list.findIndex((s) => s.correlationId === id);
  if (idx < 0) {
    toast('This session has no such signal');
    history.replaceState(null, '', sessionHash(current.key));
    closeDrawer(false);
    return;
  }
  const s = list[idx];
  current.signalId = id;
  const key = current.key;
  for (const r of document.querySelectorAll('#timeline tbody tr')) r.classList.toggle('selected', r.dataset.id === id);
  for (const b of document.querySelectorAll('#chart .bar')) b.classList.toggle('current', b.dataset.id === id);
  const row = document.querySelector(`#timeline tr[data-id="${CSS.escape(id)}"]`);
  if (row) row.scrollIntoView({ block: 'nearest' });

  /* previous and next among the rows on screen */
  const shown = visibleSignals();
  const at = shown.findIndex((x) => x.correlationId === id);
  const go = (d) => {
    const t = shown[at + d];
    if (!t) return;
    current.opener = null;
    location.hash = signalHash(key, t.correlationId);
  };
  const closeBtn = el('button', { type: 'button', class: 'btn', 'aria-label': 'Close (Escape)', onclick: () => closeDrawer(true) }, '✕ Close');
  const color = current.colors.get(s.service) || NA_COLOR;
  const dot = el('span', { class: 'dot', 'aria-hidden': 'true' });
  dot.style.background = color;
  const facts = [
    ['Time', `${fmtDateTime(s.firstEventMs)} → ${fmtClock(s.lastEventMs, false)} UTC`],
    ['Duration', fmtDuration(s.lastEventMs - s.firstEventMs)],
    ['Events', String(s.eventCount)],
    ['Service', s.service],
    ['Label', s.sourceLabel ? `${s.label} (from ${s.sourceLabel})` : s.label],
    ['Kind', s.kind ? `${s.kind}: ${KIND_TITLE[s.kind] || ''}` : 'a console action the rules recognise'],
    ['Correlation id', s.correlationId],
  ];
  const evBox = el('div', { id: 'signal-events' }, el('p', { class: 'loading' }, 'Loading events…'));
  drawer.replaceChildren(
    el('div', { class: 'drawer-head' },
      el('div', null,
        el('div', { class: 'count' }, dot, s.service, s.suppressed ? [' · ', el('span', { class: 'tag' }, 'background')] : null),
        el('h2', { id: 'drawer-title', tabindex: -1 }, s.name)),
      el('div', { class: 'nav' },
        el('button', { type: 'button', class: 'btn', disabled: at <= 0, onclick: () => go(-1), 'aria-label': 'Previous signal' }, '↑'),
        el('button', { type: 'button', class: 'btn', disabled: at < 0 || at >= shown.length - 1, onclick: () => go(1), 'aria-label': 'Next signal' }, '↓'),
        el('button', { type: 'button', class: 'btn', onclick: () => copyLink(new URL(signalHash(key, id), location.href).href) }, 'Copy link'),
        closeBtn)),
    el('div', { class: 'drawer-body' },
      el('p', { class: 'summary-text' }, s.summary),
      el('dl', { class: 'facts' }, facts.map(([k, v]) => el('div', null, el('dt', null, k), el('dd', { class: k === 'Correlation id' ? 'mono' : null }, v)))),
      s.url && /^https?:\/\//.test(s.url) ? [el('h3', null, 'Console page'),
        el('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer' }, s.url)] : null,
      s.additionalData !== null && s.additionalData !== undefined ? additionalData(s.additionalData) : null,
      el('h3', null, `Raw events (${s.eventCount})`),
      evBox));
  drawer.hidden = false;
  scrim.hidden = false;
  document.getElementById('drawer-title').focus();
  loadSignalEvents(key, id, evBox, '');
}

/* AdditionalData, folded when it is long so the raw events stay in view */
function additionalData(data) {
  const text = JSON.stringify(data, null, 2);
  const lines = text.split('\n').length;
  const d = el('details', { class: 'data', open: lines <= 14 },
    el('summary', null, el('h3', null, `Additional data${lines > 14 ? ` (${lines} lines)` : ''}`)),
    jsonBlock(text));
  return d;
}

async function loadSignalEvents(key, id, box, token) {
  try {
    const qs = new URLSearchParams({ signal: id, page_size: '1000' });
    if (token) qs.set('page_token', token);
    const d = await api(`api/sessions/${enc(key)}/events?${qs}`);
    if (!current || current.signalId !== id) return;
    if (!token) box.replaceChildren();
    box.querySelector('.more')?.remove();
    const items = eventList(d.events);
    box.append(...items);
    if (!token && items.length) items[0].open = true;
    if (d.nextPageToken) {
      box.append(el('button', { type: 'button', class: 'btn more', onclick: () => loadSignalEvents(key, id, box, d.nextPageToken) },
        'Load more'));
    }
  } catch (e) {
    showError(e, box);
  }
}

scrim.addEventListener('click', () => closeDrawer(true));
document.addEventListener('keydown', (ev) => {
  if (!drawer.hidden) {
    if (ev.key === 'Escape') { ev.preventDefault(); closeDrawer(true); return; }
    if (ev.key === 'Tab') {   /* keep focus inside the dialog */
      const f = focusables(drawer);
      if (!f.length) return;
      const first = f[0];
      const last = f[f.length - 1];
      if (ev.shiftKey && (document.activeElement === first || !drawer.contains(document.activeElement))) { ev.preventDefault(); last.focus(); }
      else if (!ev.shiftKey && (document.activeElement === last || !drawer.contains(document.activeElement))) { ev.preventDefault(); first.focus(); }
    }
    return;
  }
  const typing = ev.target.matches && ev.target.matches('input, textarea, select');
  if (ev.key === '/' && !typing) {
    const f = document.getElementById('signal-filter') || document.getElementById('session-filter');
    if (f) { ev.preventDefault(); f.focus(); }
  }
});

document.getElementById('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  healthShown = false;
  document.getElementById('server-info').textContent = '';
  current = null;
  showLogin('');
});

/* --------------------------------------------------------------- router */

let routeSeq = 0;

function parseHash() {
  const h = location.hash.replace(/^#/, '') || '/';
  const qi = h.indexOf('?');
  const path = qi >= 0 ? h.slice(0, qi) : h;
  const query = qi >= 0 ? h.slice(qi + 1) : '';
  const parts = path.split('/').filter((p, i) => i > 0 || p);
  const dec = (x) => decodeURIComponent(x);
  if (parts[0] === 'session' && parts[1]) {
    return { view: 'session', key: dec(parts[1]), signal: parts[2] === 'signal' && parts[3] ? dec(parts[3]) : null };
  }
  return { view: 'sessions', params: new URLSearchParams(query) };
}

async function route() {
  const seq = ++routeSeq;
  let r;
  try {
    r = parseHash();
  } catch (e) {
    main.replaceChildren(el('div', { class: 'error', role: 'alert' }, `This link is broken: ${e.message}`));
    return;
  }
  if (r.view === 'session') {
    if (!current || current.key !== r.key || !document.getElementById('timeline')) {
      closeDrawer(false);
      current = null;
      if (!(await renderSession(r.key, seq))) return;
    }
    if (seq !== routeSeq) return;
    if (r.signal) openSignal(r.signal);
    else closeDrawer(false);
  } else {
    closeDrawer(false);
    current = null;
    await renderSessions(r.params, seq);
  }
}

window.addEventListener('hashchange', route);
route();

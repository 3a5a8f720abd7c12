// DOM helpers for the dashboard. Every piece of data reaches the page as a text node or an attribute
// value (never through innerHTML), so job payloads, errors and names cannot inject markup.

/** Creates an element: h('td', {class: 'num', title: 'x', on: {click: fn}, data: {id}}, 'text', child…). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    else if (k === 'style') for (const [sk, sv] of Object.entries(v)) el.style.setProperty(sk, String(sv));
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** "now", "12s ago", "in 3m", "2h 5m ago". */
export function relative(iso, now = Date.now()) {
  if (!iso) return '–';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '–';
  const diff = t - now;
  if (Math.abs(diff) < 1000) return 'now';
  const text = duration(Math.abs(diff) / 1000);
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

/** 42s, 3m 4s, 2h 5m, 3d 4h. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const parts = [];
  let rest = s;
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ]) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** A <time> that the page's ticker keeps relative ("5s ago"); the exact time is in its tooltip. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '–');
  return h(
    'time',
    { datetime: iso, title: new Date(iso).toLocaleString(), data: { ts: iso } },
    relative(iso),
  );
}

/** Refreshes every relative time on the page (called once a second). */
export function tickTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time[data-ts]')) {
    const text = relative(el.dataset.ts, now);
    if (el.textContent !== text) el.textContent = text;
  }
}

export const STATUSES = ['PENDING', 'RUNNING', 'RETRY', 'COMPLETED', 'DEAD', 'CANCELLED'];

/** A coloured status pill. */
export function badge(status, extra) {
  return h('span', { class: `badge s-${String(status).toLowerCase()}` }, extra ?? status);
}

/** The tail of a UUIDv7 (its head is a timestamp, alike for jobs made together); full id in the tooltip. */
export function shortId(id) {
  return h('span', { class: 'mono id', title: id }, `…${String(id).slice(-8)}`);
}

/** Pretty JSON for a <pre>. */
export function json(value) {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** An integer with thin-space thousands, or "–". */
export function num(n) {
  if (n === null || n === undefined) return '–';
  return Number(n).toLocaleString('en-US');
}

/** A table with fixed column widths (cols: [{label, width, class}]) and an empty-state row. */
export function table(cols, rows, emptyText) {
  const colgroup = h(
    'colgroup',
    null,
    cols.map((c) => h('col', { style: c.width ? { width: c.width } : null })),
  );
  const head = h(
    'thead',
    null,
    h(
      'tr',
      null,
      cols.map((c) => h('th', { class: c.class }, c.label)),
    ),
  );
  const body = h(
    'tbody',
    null,
    rows.length ? rows : h('tr', { class: 'empty' }, h('td', { colSpan: cols.length }, emptyText)),
  );
  return h('table', { class: 'grid' }, colgroup, head, body);
}

/** Replaces a container's children only when the data behind them changed (no flicker, no lost focus). */
export function renderIfChanged(container, key, build) {
  if (container.dataset.key === key) return false;
  container.dataset.key = key;
  container.replaceChildren(...[build()].flat());
  return true;
}

/** A placeholder the size of a short table, shown until the first answer arrives. */
export function loading() {
  return h('p', { class: 'loading muted' }, 'Loading…');
}

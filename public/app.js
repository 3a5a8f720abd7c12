// The jobq dashboard: a hash router over six views, a live refresh every 2 s (skipped while the tab is
// hidden or a refresh is still running), toasts for actions, and the token button. No framework, no build.
import { allowTokenPrompt, clearToken, getToken, tokenDeclined } from './js/api.js';
import { tickTimes } from './js/dom.js';
import { overviewView } from './js/views/overview.js';
import { jobsView } from './js/views/jobs.js';
import { jobView } from './js/views/job.js';
import { deadView } from './js/views/dead.js';
import { workersView } from './js/views/workers.js';
import { schedulesView } from './js/views/schedules.js';

const REFRESH_MS = 2000;
const main = document.getElementById('view');
const liveDot = document.getElementById('live-dot');
const liveText = document.getElementById('live-text');
const liveToggle = document.getElementById('live-toggle');
const tokenButton = document.getElementById('token-button');

let current = null; // { name, view, refresh }
let paused = false;
let inFlight = false;
let again = false; // a forced refresh arrived while one was running: run once more after it
let lastOk = 0;
let lastError = null;

/** Parses "#/jobs/<id>?a=b" into a view name, an optional id and query params. */
function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const parts = (path || 'overview').split('/').filter(Boolean);
  const params = new URLSearchParams(query ?? '');
  if (parts[0] === 'jobs' && parts[1]) return { name: 'job', id: decodeURIComponent(parts[1]), params };
  return { name: parts[0] ?? 'overview', params };
}

const VIEWS = {
  overview: overviewView,
  jobs: jobsView,
  job: jobView,
  dead: deadView,
  workers: workersView,
  schedules: schedulesView,
};

/** Shows a short message at the bottom right. */
export function toast(message, kind = 'ok') {
  const el = document.createElement('div');
  el.className = `toast ${kind}`;
  el.textContent = message;
  document.getElementById('toasts').appendChild(el);
  setTimeout(() => el.classList.add('leaving'), 3600);
  setTimeout(() => el.remove(), 4000);
}

const app = {
  toast,
  /** Re-reads the current view at once (after an action). */
  refresh: () => refresh(true),
  navigate: (hash) => {
    if (location.hash === hash) void refresh(true);
    else location.hash = hash;
  },
};

function mount() {
  const r = route();
  const factory = VIEWS[r.name] ?? VIEWS.overview;
  const navName = r.name === 'job' ? 'jobs' : r.name;
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.dataset.view === navName);
  current?.view.unmount?.();
  const view = factory(r, app);
  main.replaceChildren(view.element);
  document.title = `${view.title} · jobq`;
  current = { name: r.name, view };
  void refresh(true);
}

async function refresh(force = false) {
  if (!current || (!force && (paused || document.hidden))) return;
  if (inFlight) {
    if (force) again = true;
    return;
  }
  inFlight = true;
  const mine = current;
  try {
    await mine.view.refresh();
    lastOk = Date.now();
    lastError = null;
  } catch (err) {
    lastError = err?.message ?? String(err);
  } finally {
    inFlight = false;
    updateLive();
  }
  if (again) {
    again = false;
    await refresh(true);
  }
}

function updateLive() {
  tokenButton.hidden = !getToken() && !tokenDeclined();
  tokenButton.textContent = getToken() ? 'Forget token' : 'Enter token';
  liveDot.className = `dot ${lastError ? 'bad' : paused ? 'paused' : lastOk ? 'ok' : ''}`;
  const ago = lastOk ? Math.max(0, Math.round((Date.now() - lastOk) / 1000)) : null;
  if (lastError) liveText.textContent = `error: ${lastError}`;
  else if (paused) liveText.textContent = 'paused';
  else liveText.textContent = ago === null ? 'connecting…' : ago < 2 ? 'live' : `updated ${ago}s ago`;
  liveText.title = lastError ?? '';
}

liveToggle.addEventListener('click', () => {
  paused = !paused;
  liveToggle.textContent = paused ? 'Resume' : 'Pause';
  updateLive();
  if (!paused) void refresh(true);
});

tokenButton.addEventListener('click', () => {
  if (getToken()) {
    clearToken();
    toast('Token forgotten for this tab');
  }
  allowTokenPrompt();
  void refresh(true);
});

window.addEventListener('hashchange', mount);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void refresh(true);
});
setInterval(() => void refresh(), REFRESH_MS);
setInterval(() => {
  tickTimes();
  updateLive();
}, 1000);
mount();

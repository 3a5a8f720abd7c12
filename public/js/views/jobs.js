// Jobs: filters (status, queue, type) kept in the URL, keyset paging (Newer / Older), the jobs table.
import { api, ApiError } from '../api.js';
import { STATUSES, h, loading, renderIfChanged } from '../dom.js';
import { jobTable } from './job-table.js';

export const PAGE_SIZE = 50;

/** A filter bar whose submit navigates to `${base}?…`; fields: [{name, label, options?}]. */
export function filterBar(app, base, params, fields) {
  const inputs = fields.map((f) =>
    f.options
      ? h(
          'select',
          { name: f.name, id: `filter-${f.name}` },
          h('option', { value: '' }, `Any ${f.label.toLowerCase()}`),
          f.options.map((o) => h('option', { value: o, selected: params.get(f.name) === o }, o)),
        )
      : h('input', {
          name: f.name,
          id: `filter-${f.name}`,
          placeholder: f.placeholder ?? `any ${f.label.toLowerCase()}`,
          value: params.get(f.name) ?? '',
          autocomplete: 'off',
          spellcheck: 'false',
        }),
  );
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    fields.map((f, i) => h('label', { class: 'field' }, h('span', null, f.label), inputs[i])),
    h('button', { class: 'primary', type: 'submit' }, 'Apply'),
    h('button', { class: 'ghost', type: 'button', on: { click: () => app.navigate(`#/${base}`) } }, 'Clear'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const el of inputs) if (el.value.trim()) q.set(el.name, el.value.trim());
    const qs = q.toString();
    app.navigate(`#/${base}${qs ? `?${qs}` : ''}`);
  });
  for (const el of inputs)
    if (el.tagName === 'SELECT') el.addEventListener('change', () => form.requestSubmit());
  return form;
}

/** A paged, filtered list of jobs from `path` (GET /jobs or GET /dead). */
export function pagedJobs(app, { path, params, keys, emptyText }) {
  const cursors = [null]; // cursor of each page seen so far
  let nextCursor = null;
  const body = h('div', { class: 'panel-body' }, loading());
  const problem = h('p', { class: 'error-text problem', hidden: true });
  const pageLabel = h('span', { class: 'muted' });
  const newer = h(
    'button',
    { class: 'secondary small', type: 'button', disabled: true, data: { action: 'newer' } },
    '← Newer',
  );
  const older = h(
    'button',
    { class: 'secondary small', type: 'button', disabled: true, data: { action: 'older' } },
    'Older →',
  );
  const pager = h('div', { class: 'pager' }, newer, pageLabel, older);
  let lastItems = [];
  const load = async () => {
    const q = new URLSearchParams();
    for (const k of keys) if (params.get(k)) q.set(k, params.get(k));
    q.set('limit', String(PAGE_SIZE));
    const cursor = cursors.at(-1);
    if (cursor) q.set('cursor', cursor);
    let page;
    try {
      page = await api(`${path}?${q}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 400) throw err;
      problem.hidden = false;
      problem.textContent = err.message;
      renderIfChanged(body, 'error', () => []);
      return;
    }
    problem.hidden = true;
    nextCursor = page.nextCursor;
    lastItems = page.items;
    renderIfChanged(body, JSON.stringify(page.items), () => jobTable(app, page.items, emptyText));
    newer.disabled = cursors.length === 1;
    older.disabled = !nextCursor;
    pageLabel.textContent = `page ${cursors.length} · ${page.items.length} job${page.items.length === 1 ? '' : 's'}`;
  };
  newer.addEventListener('click', () => {
    if (cursors.length > 1) cursors.pop();
    void load();
  });
  older.addEventListener('click', () => {
    if (nextCursor) cursors.push(nextCursor);
    void load();
  });
  return { body, problem, pager, load, items: () => lastItems };
}

/** The jobs view. */
export function jobsView(route, app) {
  const list = pagedJobs(app, {
    path: '/jobs',
    params: route.params,
    keys: ['status', 'queue', 'type'],
    emptyText: 'No jobs match these filters.',
  });
  const element = h(
    'section',
    { class: 'view' },
    h('div', { class: 'view-head' }, h('h1', null, 'Jobs'), list.pager),
    filterBar(app, 'jobs', route.params, [
      { name: 'status', label: 'Status', options: STATUSES },
      { name: 'queue', label: 'Queue' },
      { name: 'type', label: 'Type' },
    ]),
    list.problem,
    h('div', { class: 'panel' }, list.body),
  );
  return { title: 'Jobs', element, refresh: list.load };
}

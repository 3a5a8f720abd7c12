// The jobs table shared by the Jobs and Dead letters views: fixed columns, one row per job, a click
// opens the job.
import { badge, h, shortId, table, when } from '../dom.js';
import { jobButtons } from './actions.js';

const COLS = [
  { label: 'Job', width: '7rem' },
  { label: 'Type', width: '16%' },
  { label: 'Queue', width: '9%' },
  { label: 'Status', width: '7.5rem' },
  { label: 'Tries', width: '4.5rem', class: 'num' },
  { label: 'Created', width: '6.5rem' },
  { label: 'Updated', width: '6.5rem' },
  { label: 'Last error' },
  { label: '', width: '9.5rem' },
];

/** A table of jobs. */
export function jobTable(app, jobs, emptyText) {
  const rows = jobs.map((j) =>
    h(
      'tr',
      { class: 'clickable', data: { jobId: j.id }, on: { click: () => app.navigate(`#/jobs/${j.id}`) } },
      h(
        'td',
        null,
        h('a', { href: `#/jobs/${j.id}`, on: { click: (e) => e.stopPropagation() } }, shortId(j.id)),
      ),
      h('td', { class: 'ellipsis', title: j.type }, j.type),
      h('td', { class: 'ellipsis', title: j.queue }, j.queue),
      h(
        'td',
        null,
        badge(j.status, j.status === 'RUNNING' && j.cancelRequestedAt ? 'CANCELLING' : undefined),
      ),
      h('td', { class: 'num' }, `${j.attempts}/${j.maxAttempts}`),
      h('td', null, when(j.createdAt)),
      h('td', null, when(j.updatedAt)),
      h(
        'td',
        { class: 'wrap error-text', title: j.lastError ?? '' },
        h('div', { class: 'clamp' }, j.lastError ?? ''),
      ),
      h('td', { class: 'right' }, jobButtons(app, j)),
    ),
  );
  return table(COLS, rows, emptyText);
}

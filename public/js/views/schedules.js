// Schedules: cron schedules with their next and last runs (GET /schedules; an empty state when this
// server has no schedules route).
import { apiOptional } from '../api.js';
import { badge, h, loading, renderIfChanged, shortId, table, when } from '../dom.js';

const COLS = [
  { label: 'Name' },
  { label: 'Cron', width: '8rem' },
  { label: 'Zone', width: '8rem' },
  { label: 'Job type', width: '11rem' },
  { label: 'Queue', width: '7rem' },
  { label: 'Next run', width: '7rem' },
  { label: 'Last run', width: '7rem' },
  { label: 'Last job', width: '10.5rem' },
  { label: 'Missed / overlap', width: '8.5rem' },
];

/** The last job's outcome as a link to it; a pruned job is only named (muted). */
function lastJob(s, app) {
  if (!s.lastJobId) return h('span', { class: 'muted' }, '–');
  if (!s.lastJobStatus)
    return h(
      'span',
      { class: 'muted', title: `job ${s.lastJobId} (pruned)` },
      `${shortId(s.lastJobId)} pruned`,
    );
  const href = `#/jobs/${s.lastJobId}`;
  return h(
    'a',
    {
      class: 'last-job',
      href,
      title: `job ${s.lastJobId}: ${s.lastJobStatus}`,
      on: {
        click: (e) => {
          e.preventDefault();
          app.navigate(href);
        },
      },
    },
    badge(s.lastJobStatus),
    h('span', { class: 'mono muted' }, shortId(s.lastJobId)),
  );
}

/** The schedules view. */
export function schedulesView(_route, app) {
  const body = h('div', { class: 'panel-body' }, loading());
  const element = h(
    'section',
    { class: 'view' },
    h('div', { class: 'view-head' }, h('h1', null, 'Schedules')),
    h('div', { class: 'panel' }, body),
  );
  return {
    title: 'Schedules',
    element,
    async refresh() {
      const data = await apiOptional('/schedules');
      if (data === null) {
        renderIfChanged(body, 'none', () =>
          h('p', { class: 'empty-state' }, 'Schedules are not available from this server.'),
        );
        return;
      }
      const list = Array.isArray(data) ? data : (data.items ?? []);
      renderIfChanged(body, JSON.stringify(list), () =>
        table(
          COLS,
          list.map((s) =>
            h(
              'tr',
              { class: s.enabled === false ? 'disabled' : '' },
              h(
                'td',
                { class: 'ellipsis strong', title: s.name },
                s.name,
                s.enabled === false ? h('span', { class: 'tag' }, 'disabled') : null,
              ),
              h('td', { class: 'mono' }, s.cron),
              h('td', { class: 'ellipsis' }, s.timezone),
              h('td', { class: 'ellipsis' }, s.type),
              h('td', { class: 'ellipsis' }, s.queue),
              h('td', null, s.enabled === false ? h('span', { class: 'muted' }, '–') : when(s.nextRunAt)),
              h('td', null, when(s.lastRunAt)),
              h('td', null, lastJob(s, app)),
              h(
                'td',
                {
                  class: 'muted',
                  title: `missed runs: ${s.missedPolicy ?? '–'}; overlapping runs: ${s.overlapPolicy ?? '–'}`,
                },
                `${s.missedPolicy ?? '–'} / ${s.overlapPolicy ?? '–'}`,
              ),
            ),
          ),
          'No schedules yet. Add one with: jobq schedules add …',
        ),
      );
    },
  };
}

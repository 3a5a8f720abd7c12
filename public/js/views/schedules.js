// Schedules: cron schedules with their next and last runs (GET /schedules; an empty state when this
// server has no schedules route).
import { apiOptional } from '../api.js';
import { badge, h, loading, renderIfChanged, shortId, table, when } from '../dom.js';

const COLS = [
  { label: 'Name', width: '16%' },
  { label: 'Cron', width: '9rem' },
  { label: 'Zone', width: '8rem' },
  { label: 'Job type', width: '15%' },
  { label: 'Queue', width: '9%' },
  { label: 'Next run', width: '7.5rem' },
  { label: 'Last run', width: '7.5rem' },
  { label: 'Last job' },
  { label: 'Missed / overlap', width: '9.5rem' },
];

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
              h(
                'td',
                null,
                s.lastJobId
                  ? h(
                      'a',
                      {
                        href: `#/jobs/${s.lastJobId}`,
                        on: {
                          click: (e) => {
                            e.preventDefault();
                            app.navigate(`#/jobs/${s.lastJobId}`);
                          },
                        },
                      },
                      shortId(s.lastJobId),
                      ' ',
                      s.lastJobStatus ? badge(s.lastJobStatus) : null,
                    )
                  : h('span', { class: 'muted' }, '–'),
              ),
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

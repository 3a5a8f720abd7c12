// Workers online: who runs what, how busy, last heartbeat.
import { api } from '../api.js';
import { h, loading, num, renderIfChanged, table, when } from '../dom.js';

const COLS = [
  { label: 'Worker', width: '24%' },
  { label: 'Host', width: '14%' },
  { label: 'PID', width: '5.5rem', class: 'num' },
  { label: 'Queues (slots)' },
  { label: 'Running', width: '6rem', class: 'num' },
  { label: 'Version', width: '6.5rem' },
  { label: 'Started', width: '7.5rem' },
  { label: 'Heartbeat', width: '7.5rem' },
];

/** The workers view. */
export function workersView(_route, _app) {
  const body = h('div', { class: 'panel-body' }, loading());
  const count = h('span', { class: 'muted' });
  const element = h(
    'section',
    { class: 'view' },
    h('div', { class: 'view-head' }, h('h1', null, 'Workers'), count),
    h('div', { class: 'panel' }, body),
  );
  return {
    title: 'Workers',
    element,
    async refresh() {
      const data = await api('/workers');
      const workers = Array.isArray(data) ? data : (data?.items ?? []);
      count.textContent = `${workers.length} online`;
      renderIfChanged(body, JSON.stringify(workers), () =>
        table(
          COLS,
          workers.map((w) =>
            h(
              'tr',
              null,
              h('td', { class: 'ellipsis mono', title: w.id }, w.id),
              h('td', { class: 'ellipsis' }, w.host),
              h('td', { class: 'num' }, String(w.pid)),
              h(
                'td',
                { class: 'ellipsis' },
                Object.entries(w.queues ?? {}).map(([q, n]) => h('span', { class: 'tag' }, `${q}:${n}`)),
              ),
              h('td', { class: 'num' }, num(w.running)),
              h('td', { class: 'mono' }, w.version),
              h('td', null, when(w.startedAt)),
              h('td', null, when(w.lastHeartbeatAt)),
            ),
          ),
          'No workers online. Start one with: jobq worker --queue default',
        ),
      );
    },
  };
}

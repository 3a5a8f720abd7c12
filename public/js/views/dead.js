// Dead letters: DEAD jobs with queue/type filters, and "Retry all matching" (POST /dead/retry).
import { api } from '../api.js';
import { h } from '../dom.js';
import { filterBar, pagedJobs } from './jobs.js';

/** The dead-letter view. */
export function deadView(route, app) {
  const list = pagedJobs(app, {
    path: '/dead',
    params: route.params,
    keys: ['queue', 'type'],
    emptyText: 'The dead-letter queue is empty.',
  });
  const queue = route.params.get('queue');
  const type = route.params.get('type');
  const scope =
    [queue && `queue ${queue}`, type && `type ${type}`].filter(Boolean).join(', ') || 'all queues';
  const retryAll = h(
    'button',
    { class: 'primary', type: 'button', id: 'retry-all', disabled: true },
    'Retry all matching',
  );
  retryAll.addEventListener('click', async () => {
    if (!confirm(`Retry every dead job in ${scope}?`)) return;
    retryAll.disabled = true;
    try {
      const body = {};
      if (queue) body.queue = queue;
      if (type) body.type = type;
      const r = await api('/dead/retry', { method: 'POST', body });
      app.toast(`${r.retried} job${r.retried === 1 ? '' : 's'} queued again`);
    } catch (err) {
      app.toast(err.message, 'bad');
    }
    await app.refresh();
  });
  const element = h(
    'section',
    { class: 'view' },
    h('div', { class: 'view-head' }, h('h1', null, 'Dead letters'), list.pager),
    h(
      'div',
      { class: 'toolbar' },
      filterBar(app, 'dead', route.params, [
        { name: 'queue', label: 'Queue' },
        { name: 'type', label: 'Type' },
      ]),
      retryAll,
    ),
    list.problem,
    h('div', { class: 'panel' }, list.body),
  );
  return {
    title: 'Dead letters',
    element,
    async refresh() {
      await list.load();
      retryAll.disabled = list.items().length === 0;
    },
  };
}

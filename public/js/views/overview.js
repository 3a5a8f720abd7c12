// Overview: totals at a glance, every queue's depth by status, oldest ready job, last-minute throughput
// (with a 5-second-bucket sparkline), pause/resume, flow limits with their use, and the most recent failures.
import { api } from '../api.js';
import { badge, duration, h, loading, num, renderIfChanged, shortId, table, when } from '../dom.js';
import { setQueuePaused } from './actions.js';
import { limitsPanel } from './limits.js';

function card(label, value, cls, hint) {
  return h(
    'div',
    { class: `card ${cls ?? ''}` },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value' }, value),
    hint && h('div', { class: 'card-hint' }, hint),
  );
}

function spark(buckets) {
  const max = Math.max(1, ...buckets);
  return h(
    'span',
    { class: 'spark', title: `${buckets.join(', ')} per 5 s, oldest first` },
    buckets.map((n) =>
      h('i', {
        style: { height: `${Math.max(n ? 12 : 4, Math.round((n / max) * 100))}%` },
        class: n ? '' : 'zero',
      }),
    ),
  );
}

const ready = (q) => Math.max(0, q.counts.PENDING + q.counts.RETRY - q.scheduled);

const QUEUE_COLS = [
  { label: 'Queue', width: '11rem' },
  { label: 'State', width: '7.5rem' },
  { label: 'Ready', width: '6rem', class: 'num' },
  { label: 'Scheduled', width: '7.5rem', class: 'num' },
  { label: 'Running', width: '6rem', class: 'num' },
  { label: 'Retry', width: '5.5rem', class: 'num' },
  { label: 'Dead', width: '5.5rem', class: 'num' },
  { label: 'Oldest ready', width: '8.5rem', class: 'num' },
  { label: 'Done / min', width: '6.5rem', class: 'num' },
  { label: 'Last minute' },
  { label: '', width: '6.5rem' },
];

function queueRow(app, q) {
  const pause = !q.paused;
  return h(
    'tr',
    { data: { queue: q.queue } },
    h(
      'td',
      { class: 'ellipsis strong' },
      h('a', { href: `#/jobs?queue=${encodeURIComponent(q.queue)}` }, q.queue),
    ),
    h('td', null, q.paused ? badge('PAUSED') : badge('ACTIVE')),
    h('td', { class: 'num' }, num(ready(q))),
    h('td', { class: 'num muted' }, num(q.scheduled)),
    h('td', { class: 'num' }, num(q.counts.RUNNING)),
    h('td', { class: `num ${q.counts.RETRY ? 'warn-text' : 'muted'}` }, num(q.counts.RETRY)),
    h(
      'td',
      { class: `num ${q.counts.DEAD ? 'error-text' : 'muted'}` },
      q.counts.DEAD
        ? h('a', { href: `#/dead?queue=${encodeURIComponent(q.queue)}` }, num(q.counts.DEAD))
        : '0',
    ),
    h(
      'td',
      { class: `num ${q.oldestReadyAgeSeconds > 60 ? 'warn-text' : ''}` },
      q.oldestReadyAgeSeconds === null ? '–' : duration(q.oldestReadyAgeSeconds),
    ),
    h('td', { class: 'num' }, num(q.completedInWindow)),
    h('td', null, spark(q.completedBuckets ?? [])),
    h(
      'td',
      { class: 'right' },
      h(
        'button',
        {
          class: 'secondary small',
          type: 'button',
          on: { click: (e) => setQueuePaused(app, q.queue, pause, e.currentTarget) },
        },
        pause ? 'Pause' : 'Resume',
      ),
    ),
  );
}

const FAILURE_COLS = [
  { label: 'Job', width: '7.5rem' },
  { label: 'Type', width: '15%' },
  { label: 'Queue', width: '9%' },
  { label: 'Status', width: '7.5rem' },
  { label: 'Tries', width: '4.5rem', class: 'num' },
  { label: 'Error' },
  { label: 'When', width: '7.5rem' },
];

function failureRow(app, f) {
  return h(
    'tr',
    { class: 'clickable', on: { click: () => app.navigate(`#/jobs/${f.id}`) } },
    h('td', null, shortId(f.id)),
    h('td', { class: 'ellipsis' }, f.type),
    h('td', { class: 'ellipsis' }, f.queue),
    h('td', null, badge(f.status)),
    h('td', { class: 'num' }, `${f.attempts}/${f.maxAttempts}`),
    h(
      'td',
      { class: 'wrap error-text', title: f.lastError ?? '' },
      h('div', { class: 'clamp' }, f.lastError ?? ''),
    ),
    h('td', null, when(f.updatedAt)),
  );
}

/** The overview view. */
export function overviewView(_route, app) {
  const cards = h('div', { class: 'cards' });
  const queues = h('div', { class: 'panel-body' }, loading());
  const failures = h('div', { class: 'panel-body' }, loading());
  const limits = limitsPanel(app);
  const element = h(
    'section',
    { class: 'view' },
    h('div', { class: 'view-head' }, h('h1', null, 'Overview')),
    cards,
    h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', null, 'Queues')), queues),
    h(
      'div',
      { class: 'panel', id: 'flow-limits' },
      h('div', { class: 'panel-head' }, h('h2', null, 'Flow limits')),
      limits.element,
    ),
    h(
      'div',
      { class: 'panel' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', null, 'Recent failures'),
        h('a', { href: '#/dead' }, 'All dead letters →'),
      ),
      failures,
    ),
  );
  return {
    title: 'Overview',
    element,
    async refresh() {
      const o = await api('/overview');
      const sum = (f) => o.queues.reduce((a, q) => a + f(q), 0);
      renderIfChanged(cards, JSON.stringify([o.queues, o.workersOnline]), () => [
        card('Ready', num(sum(ready)), 'c-pending', 'waiting for a worker'),
        card('Scheduled', num(sum((q) => q.scheduled)), 'c-scheduled', 'run later / backoff'),
        card('Running', num(sum((q) => q.counts.RUNNING)), 'c-running'),
        card(
          'Dead',
          num(sum((q) => q.counts.DEAD)),
          sum((q) => q.counts.DEAD) ? 'c-dead' : '',
          'need an operator',
        ),
        card('Done / min', num(sum((q) => q.completedInWindow)), 'c-completed', 'completed, last 60 s'),
        card('Workers', num(o.workersOnline), o.workersOnline ? 'c-ok' : 'c-dead', 'online'),
      ]);
      renderIfChanged(queues, JSON.stringify(o.queues), () =>
        table(
          QUEUE_COLS,
          o.queues.map((q) => queueRow(app, q)),
          'No queues yet: enqueue a job to see it here.',
        ),
      );
      limits.refresh(o.queues);
      renderIfChanged(failures, JSON.stringify(o.failures), () =>
        table(
          FAILURE_COLS,
          o.failures.map((f) => failureRow(app, f)),
          'No recent failures.',
        ),
      );
    },
  };
}

// Flow limits on the overview: each limited queue's concurrency (running / limit), rate with the tokens
// left, and per-key limit, plus a form that sets or clears them (PUT/DELETE /queues/:name/limits).
import { api } from '../api.js';
import { h, num, table } from '../dom.js';

const COLS = [
  { label: 'Queue', width: '11rem' },
  { label: 'Running / limit', width: '14rem' },
  { label: 'Rate (tokens now)', width: '14rem' },
  { label: 'Per key (keys at limit)', width: '13rem' },
  { label: '' },
];

/** "3 / 5", "10/s, burst 20 (7 left)", "2 (1 of 4 at limit)". */
function conc(l) {
  return l.concurrency === null ? '–' : `${num(l.running)} / ${num(l.concurrency)}`;
}
function rate(l) {
  return l.rate === null ? '–' : `${l.rate}, burst ${num(l.burst)} (${num(l.tokens)} left)`;
}
function perKey(l) {
  if (l.perKeyConcurrency === null) return '–';
  return `${num(l.perKeyConcurrency)} (${num(l.keysAtLimit ?? 0)} of ${num(l.keysRunning ?? 0)} at limit)`;
}

/** The limits panel: a table of limited queues and the form; refresh(queues) redraws it. */
export function limitsPanel(app) {
  const list = h('div', { class: 'limits-list' });
  const field = (name, placeholder) =>
    h('input', { name, placeholder, size: 10, 'aria-label': name, autocomplete: 'off' });
  const inputs = {
    queue: field('queue', 'queue'),
    concurrency: field('concurrency', 'e.g. 5'),
    rate: field('rate', 'e.g. 10/s'),
    burst: field('burst', 'e.g. 20'),
    perKeyConcurrency: field('perKeyConcurrency', 'e.g. 2'),
  };
  const int = (v) => (v.trim() === '' ? null : Number(v.trim()));
  const submit = async (clear) => {
    const name = inputs.queue.value.trim();
    if (!name) return app.toast('Name the queue first', 'bad');
    try {
      if (clear) await api(`/queues/${encodeURIComponent(name)}/limits`, { method: 'DELETE' });
      else
        await api(`/queues/${encodeURIComponent(name)}/limits`, {
          method: 'PUT',
          body: {
            concurrency: int(inputs.concurrency.value),
            rate: inputs.rate.value.trim() === '' ? null : inputs.rate.value.trim(),
            burst: int(inputs.burst.value),
            perKeyConcurrency: int(inputs.perKeyConcurrency.value),
          },
        });
      app.toast(clear ? `Limits of ${name} removed` : `Limits of ${name} saved`);
    } catch (err) {
      app.toast(err.message ?? String(err), 'bad');
    }
    await app.refresh();
  };
  const edit = (l) => {
    inputs.queue.value = l.queue;
    inputs.concurrency.value = l.concurrency ?? '';
    inputs.rate.value = l.rate ?? '';
    inputs.burst.value = l.burst ?? '';
    inputs.perKeyConcurrency.value = l.perKeyConcurrency ?? '';
  };
  const form = h(
    'form',
    {
      class: 'limits-form',
      on: {
        submit: (e) => {
          e.preventDefault();
          void submit(false);
        },
      },
    },
    ['queue', 'concurrency', 'rate', 'burst', 'perKeyConcurrency'].map((k) =>
      h('label', null, h('span', { class: 'muted' }, k === 'perKeyConcurrency' ? 'per key' : k), inputs[k]),
    ),
    h('button', { type: 'submit', class: 'small' }, 'Save limits'),
    h(
      'button',
      { type: 'button', class: 'secondary small', on: { click: () => void submit(true) } },
      'Clear limits',
    ),
  );
  return {
    element: h('div', { class: 'panel-body' }, list, form),
    refresh(queues) {
      const limited = queues.filter((q) => q.limits).map((q) => q.limits);
      list.replaceChildren(
        table(
          COLS,
          limited.map((l) =>
            h(
              'tr',
              { data: { limits: l.queue } },
              h('td', { class: 'ellipsis strong' }, l.queue),
              h(
                'td',
                { class: l.concurrency !== null && l.running >= l.concurrency ? 'warn-text' : '' },
                conc(l),
              ),
              h('td', { class: l.rate !== null && l.tokens === 0 ? 'warn-text' : '' }, rate(l)),
              h('td', { class: l.keysAtLimit > 0 ? 'warn-text' : '' }, perKey(l)),
              h(
                'td',
                { class: 'right' },
                h(
                  'button',
                  { type: 'button', class: 'secondary small', on: { click: () => edit(l) } },
                  'Edit',
                ),
              ),
            ),
          ),
          'No queue has limits: every queue runs as fast as its workers allow.',
        ),
      );
    },
  };
}

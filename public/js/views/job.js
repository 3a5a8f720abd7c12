// One job: state, timestamps, lease holder, payload, result, every failed attempt's error, the "why"
// panel (GET /jobs/:id/explain, when the server has it), and retry / cancel.
import { api, apiOptional, ApiError } from '../api.js';
import { badge, h, json, renderIfChanged, when } from '../dom.js';
import { jobButtons } from './actions.js';

function field(label, value) {
  return [h('dt', null, label), h('dd', null, value ?? h('span', { class: 'muted' }, '–'))];
}

function mono(text) {
  return text ? h('span', { class: 'mono' }, text) : null;
}

function attemptsTable(errors) {
  if (!errors.length) return h('p', { class: 'muted empty-note' }, 'No failed attempts.');
  return h(
    'ol',
    { class: 'attempts' },
    [...errors]
      .reverse()
      .map((e) =>
        h(
          'li',
          { class: 'attempt' },
          h(
            'div',
            { class: 'attempt-head' },
            h('span', { class: 'attempt-no' }, `Attempt ${e.attempt}`),
            e.permanent && badge('DEAD', 'permanent'),
            h('span', { class: 'muted' }, e.worker ? `on ${e.worker}` : ''),
            h('span', { class: 'spacer' }),
            when(e.at),
          ),
          h('pre', { class: 'error-message' }, e.message),
          e.stack && h('details', null, h('summary', null, 'Stack'), h('pre', { class: 'stack' }, e.stack)),
        ),
      ),
  );
}

function explainPanel(x) {
  if (!x) return [];
  const e = x.explanation ?? x;
  return h(
    'div',
    { class: 'panel why' },
    h(
      'div',
      { class: 'panel-head' },
      h('h2', null, 'Why is it here?'),
      e.reason && h('span', { class: 'tag mono' }, e.reason),
    ),
    h(
      'div',
      { class: 'panel-pad' },
      e.summary && h('p', { class: 'why-summary' }, e.summary),
      Array.isArray(e.details) &&
        e.details.length > 0 &&
        h(
          'dl',
          { class: 'facts compact' },
          e.details.map((d) => field(d.label, d.value)),
        ),
      e.next && h('p', null, h('strong', null, 'Next: '), e.next, e.at ? [' (', when(e.at), ')'] : null),
      e.command && h('pre', { class: 'command' }, e.command),
    ),
  );
}

/** The job view. */
export function jobView(route, app) {
  const id = route.id;
  const head = h('div', { class: 'view-head' });
  const body = h('div', { class: 'job' });
  const why = h('div');
  const element = h(
    'section',
    { class: 'view' },
    h('a', { class: 'back', href: '#/jobs' }, '← Jobs'),
    head,
    why,
    body,
  );
  return {
    title: `Job ${id.slice(-8)}`,
    element,
    async refresh() {
      let job;
      try {
        job = (await api(`/jobs/${encodeURIComponent(id)}`)).job;
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
          renderIfChanged(head, 'missing', () => h('h1', null, 'Job not found'));
          renderIfChanged(body, 'missing', () => h('p', { class: 'error-text' }, err.message));
          return;
        }
        throw err;
      }
      const explanation = await apiOptional(`/jobs/${encodeURIComponent(id)}/explain`).catch(() => null);
      renderIfChanged(why, JSON.stringify(explanation), () => explainPanel(explanation));
      renderIfChanged(head, JSON.stringify([job.status, job.cancelRequestedAt]), () => [
        h(
          'div',
          null,
          h(
            'h1',
            { class: 'job-title' },
            h('span', { class: 'mono' }, job.type),
            badge(job.status, job.status === 'RUNNING' && job.cancelRequestedAt ? 'CANCELLING' : undefined),
          ),
          h('div', { class: 'mono muted job-id', id: 'job-id' }, job.id),
        ),
        jobButtons(app, job, { large: true }),
      ]);
      renderIfChanged(body, JSON.stringify(job), () => [
        h(
          'div',
          { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', null, 'Details')),
          h(
            'dl',
            { class: 'facts' },
            field('Queue', h('a', { href: `#/jobs?queue=${encodeURIComponent(job.queue)}` }, job.queue)),
            field('Priority', String(job.priority)),
            field('Attempts', `${job.attempts} of ${job.maxAttempts}`),
            field('Run after', when(job.runAfter)),
            field('Created', when(job.createdAt)),
            field('Started', when(job.startedAt)),
            field('Finished', when(job.finishedAt)),
            field('Updated', when(job.updatedAt)),
            field(job.status === 'RUNNING' ? 'Lease holder' : 'Last worker', mono(job.lockedBy)),
            field('Locked at', job.lockedAt ? when(job.lockedAt) : null),
            field('Lease expires', job.leaseExpiresAt ? when(job.leaseExpiresAt) : null),
            field('Idempotency key', mono(job.idempotencyKey)),
            field(
              'Cancel requested',
              job.cancelRequestedAt
                ? [when(job.cancelRequestedAt), job.cancelledBy ? ` by ${job.cancelledBy}` : '']
                : null,
            ),
          ),
        ),
        h(
          'div',
          { class: 'two' },
          h(
            'div',
            { class: 'panel' },
            h('div', { class: 'panel-head' }, h('h2', null, 'Payload')),
            h('pre', { class: 'code', id: 'job-payload' }, json(job.payload)),
          ),
          h(
            'div',
            { class: 'panel' },
            h('div', { class: 'panel-head' }, h('h2', null, 'Result')),
            job.result === null
              ? h('p', { class: 'muted empty-note' }, 'No result.')
              : h('pre', { class: 'code', id: 'job-result' }, json(job.result)),
          ),
        ),
        h(
          'div',
          { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', null, `Errors (${job.errors.length})`)),
          h('div', { class: 'panel-pad', id: 'job-errors' }, attemptsTable(job.errors)),
        ),
      ]);
    },
  };
}

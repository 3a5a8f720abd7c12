// Operator actions shared by the views (retry, cancel, pause/resume, bulk retry), each followed by a
// toast and an immediate refresh.
import { api } from '../api.js';
import { h } from '../dom.js';

export const canRetry = (job) => ['DEAD', 'RETRY', 'CANCELLED'].includes(job.status);
export const canCancel = (job) =>
  ['PENDING', 'RETRY', 'RUNNING'].includes(job.status) && !job.cancelRequestedAt;

async function run(app, button, fn, ok) {
  if (button) button.disabled = true;
  try {
    await fn();
    app.toast(ok);
  } catch (err) {
    app.toast(err.message ?? String(err), 'bad');
  } finally {
    if (button) button.disabled = false;
    await app.refresh();
  }
}

/** POST /jobs/:id/retry. */
export function retryJob(app, id, button) {
  return run(
    app,
    button,
    () => api(`/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST' }),
    'Job queued again',
  );
}

/** POST /jobs/:id/cancel. */
export function cancelJob(app, id, button) {
  return run(
    app,
    button,
    () => api(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
    'Job cancelled',
  );
}

/** POST /queues/:name/pause|resume. */
export function setQueuePaused(app, name, pause, button) {
  const verb = pause ? 'pause' : 'resume';
  return run(
    app,
    button,
    () => api(`/queues/${encodeURIComponent(name)}/${verb}`, { method: 'POST' }),
    `Queue ${name} ${pause ? 'paused' : 'resumed'}`,
  );
}

/** Retry / Cancel buttons for a job (only those its state allows). */
export function jobButtons(app, job, opts = {}) {
  const stop = (fn) => (ev) => {
    ev.stopPropagation();
    fn(ev.currentTarget);
  };
  const size = opts.large ? '' : ' small';
  return h(
    'span',
    { class: 'btns' },
    canRetry(job) &&
      h(
        'button',
        {
          class: `secondary${size}`,
          type: 'button',
          data: { action: 'retry' },
          on: { click: stop((b) => retryJob(app, job.id, b)) },
        },
        'Retry',
      ),
    canCancel(job) &&
      h(
        'button',
        {
          class: `danger-ghost${size}`,
          type: 'button',
          data: { action: 'cancel' },
          on: { click: stop((b) => cancelJob(app, job.id, b)) },
        },
        'Cancel',
      ),
  );
}

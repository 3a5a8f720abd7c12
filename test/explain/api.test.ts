// GET /jobs/:id/explain over real HTTP against the real API server: the same explanation as the
// library, 404 for an unknown id, 400 for a malformed one, 401 without a token when auth is on.
import { afterAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/queue/explain.js';
import { enqueue, pauseQueue } from '../../src/queue/index.js';
import { request, startApi } from '../api/helpers.js';
import { freshDb } from '../helpers/db.js';

const db = await freshDb();
const api = await startApi(db, { auth: 'required', env: { JOBQ_API_TOKENS: 'ops:s3cret-token' } });
afterAll(() => api.close());
const token = 's3cret-token';

describe('GET /jobs/:id/explain', () => {
  it('explains a job (paused queue) with reason, summary, details, next step and command', async () => {
    const { job } = await enqueue(db.exec, { type: 'report.build', queue: 'reports' });
    await pauseQueue(db.exec, 'reports');
    const res = await request<{ explanation: Explanation }>(`${api.url}/jobs/${job.id}/explain`, {
      token,
    });
    expect(res.status).toBe(200);
    const e = res.body.explanation;
    expect(e).toMatchObject({
      id: job.id,
      status: 'PENDING',
      reason: 'queue_paused',
      command: 'jobq queues resume reports',
    });
    expect(e.summary).toContain('Queue "reports" is paused');
    expect(e.details).toContainEqual({ label: 'queue', value: 'reports' });
  });

  it('404 for an unknown id, 400 naming the field for a malformed one, 401 without a token', async () => {
    const missing = await request(`${api.url}/jobs/0190a2b4-0000-7000-8000-000000000000/explain`, { token });
    expect(missing.status).toBe(404);
    const bad = await request(`${api.url}/jobs/not-a-uuid/explain`, { token });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('id');
    const anon = await request(`${api.url}/jobs/0190a2b4-0000-7000-8000-000000000000/explain`);
    expect(anon.status).toBe(401);
  });
});

// /schedules over real HTTP (the real fastify app on a random port, bearer auth on): list, add/update
// with PUT, pause, resume, run now, remove, and 400s that name the field and quote the bad value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDb } from '../helpers/db.js';
import { request, startApi, type RunningApi } from '../api/helpers.js';
import { must } from './helpers.js';

const db = await freshDb();
let api: RunningApi;
const TOKEN = 'schedules-test-token';

interface ScheduleBody {
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  nextRunAt: string;
  lastJobId: string | null;
  [k: string]: unknown;
}

/** Every response shape of /schedules (fields absent where a route does not send them). */
interface Body {
  schedule: ScheduleBody;
  created: boolean;
  jobId: string;
  job: { type: string; queue: string; status: string };
  error: { code: string; message: string; field: string | null };
}

const call = (path: string, opts: Parameters<typeof request>[1] = {}) =>
  request<Body>(`${api.url}${path}`, { token: TOKEN, ...opts });
const list = async (): Promise<ScheduleBody[]> =>
  (await request<ScheduleBody[]>(`${api.url}/schedules`, { token: TOKEN })).body;

beforeAll(async () => {
  api = await startApi(db, { auth: 'required', env: { JOBQ_API_TOKENS: `test:${TOKEN}` } });
});
afterAll(() => api.close());

describe('/schedules', () => {
  it('PUT adds (201) then updates (200); GET lists; pause, resume, run, DELETE', async () => {
    expect(await list()).toEqual([]);
    const body = {
      cron: '0 9 * * *',
      timezone: 'Europe/Berlin',
      type: 'report.daily',
      payload: { format: 'pdf' },
      queue: 'reports',
      priority: 3,
      maxAttempts: 4,
      missedPolicy: 'once',
      overlapPolicy: 'skip',
    };
    const put = await call('/schedules/daily-report', { method: 'PUT', body });
    expect(put.status).toBe(201);
    expect(put.body.created).toBe(true);
    const listed = await list();
    expect(listed).toEqual([
      {
        name: 'daily-report',
        ...body,
        enabled: true,
        nextRunAt: must(listed[0]).nextRunAt,
        lastRunAt: null,
        lastJobId: null,
        lastJobStatus: null,
      },
    ]);
    // 09:00 in Berlin is 07:00 or 08:00 UTC.
    expect(must(listed[0]).nextRunAt).toMatch(/T0[78]:00:00\.000Z$/);

    const upd = await call('/schedules/daily-report', {
      method: 'PUT',
      body: { cron: '*/10 * * * *', type: 'report.daily' },
    });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({
      created: false,
      schedule: { cron: '*/10 * * * *', timezone: 'UTC', queue: 'default' },
    });

    const paused = await call('/schedules/daily-report/pause', { method: 'POST' });
    expect(paused.status).toBe(200);
    expect(paused.body.schedule.enabled).toBe(false);
    const resumed = await call('/schedules/daily-report/resume', { method: 'POST' });
    expect(resumed.body.schedule.enabled).toBe(true);

    const run = await call('/schedules/daily-report/run', { method: 'POST' });
    expect(run.status).toBe(201);
    expect(run.body.schedule).toMatchObject({ lastJobId: run.body.jobId, lastJobStatus: 'PENDING' });
    expect(run.body.schedule.nextRunAt).toBe(resumed.body.schedule.nextRunAt);
    const job = await call(`/jobs/${run.body.jobId}`);
    expect(job.body.job).toMatchObject({ type: 'report.daily', queue: 'default', status: 'PENDING' });

    const one = await call('/schedules/daily-report');
    expect(one.body.schedule.lastJobId).toBe(run.body.jobId);

    const del = await call('/schedules/daily-report', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await list()).toEqual([]);
    expect((await call('/schedules/daily-report', { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses bad input with 400 naming the field (and 401 without a token); nothing is written', async () => {
    const cases: [unknown, string, string][] = [
      [{ cron: '61 * * * *', type: 't' }, 'cron', '"61 * * * *"'],
      [{ cron: '0 9 * * *', type: 't', timezone: 'Mars/Olympus' }, 'timezone', '"Mars/Olympus"'],
      [{ cron: '* * * *', type: 't' }, 'cron', '(4 fields)'],
      [{ type: 't' }, 'cron', 'required'],
      [{ cron: '* * * * *', type: 't', missedPolicy: 'sometimes' }, 'missedPolicy', 'one of skip, once, all'],
      [{ cron: '* * * * *', type: 't', every: 5 }, 'every', 'unknown field'],
      [{ cron: '* * * * *', type: 'Bad Type' }, 'type', 'expected a name'],
    ];
    for (const [body, field, text] of cases) {
      const res = await call('/schedules/s1', { method: 'PUT', body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION');
      expect(res.body.error.field).toBe(field);
      expect(res.body.error.message).toContain(text);
    }
    const badName = await call('/schedules/Bad%20Name', {
      method: 'PUT',
      body: { cron: '* * * * *', type: 't' },
    });
    expect(badName.status).toBe(400);
    expect((await call('/schedules/nope/run', { method: 'POST' })).status).toBe(404);
    expect((await request(`${api.url}/schedules`)).status).toBe(401);
    expect(await list()).toEqual([]);
  });
});

// Routes for cron schedules: list, read, add or replace (PUT, by name), remove, pause, resume, run now.
// Every operation is the queue library's (src/queue/schedules.ts); cron and time zone are checked there.
import type { FastifyPluginCallback } from 'fastify';
import { CRON_EXPECTED, MISSED_POLICIES, OVERLAP_POLICIES, TIMEZONE_EXPECTED } from '../../queue/cron.js';
import {
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  runSchedule,
  scheduleView,
  upsertSchedule,
  type ScheduleSpec,
} from '../../queue/schedules.js';
import type { ApiContext } from '../context.js';
import { emptyBodySchema, enqueueSchema, nameSchema, queueParamsSchema } from '../schemas.js';

/** Body of PUT /schedules/:name. */
export const scheduleBodySchema = {
  type: 'object',
  description: 'a JSON object such as {"cron":"0 9 * * *","timezone":"Europe/Berlin","type":"report.daily"}',
  additionalProperties: false,
  required: ['cron', 'type'],
  properties: {
    cron: { type: 'string', maxLength: 200, description: CRON_EXPECTED },
    timezone: { type: 'string', maxLength: 64, description: TIMEZONE_EXPECTED },
    type: nameSchema,
    payload: { description: 'any JSON value' },
    queue: nameSchema,
    priority: enqueueSchema.properties.priority,
    maxAttempts: enqueueSchema.properties.maxAttempts,
    missedPolicy: {
      type: 'string',
      enum: [...MISSED_POLICIES],
      description: `one of ${MISSED_POLICIES.join(', ')}`,
    },
    overlapPolicy: {
      type: 'string',
      enum: [...OVERLAP_POLICIES],
      description: `one of ${OVERLAP_POLICIES.join(', ')}`,
    },
    enabled: { type: 'boolean', description: 'true or false' },
  },
} as const;

type NameParams = { Params: { name: string } };

/** /schedules routes. */
export const scheduleRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.get('/schedules', async () => (await listSchedules(ctx.exec)).map(scheduleView));

  app.get<NameParams>('/schedules/:name', { schema: { params: queueParamsSchema } }, async (request) => ({
    schedule: scheduleView(await getSchedule(ctx.exec, request.params.name)),
  }));

  app.put<NameParams & { Body: ScheduleSpec }>(
    '/schedules/:name',
    { schema: { params: queueParamsSchema, body: scheduleBodySchema } },
    async (request, reply) => {
      const { schedule, created } = await upsertSchedule(
        ctx.exec,
        request.params.name,
        request.body,
        ctx.limits,
      );
      return reply.code(created ? 201 : 200).send({ schedule: scheduleView(schedule), created });
    },
  );

  app.delete<NameParams>('/schedules/:name', { schema: { params: queueParamsSchema } }, async (request) => {
    await removeSchedule(ctx.exec, request.params.name);
    return { name: request.params.name, removed: true };
  });

  for (const [verb, apply] of [
    ['pause', pauseSchedule],
    ['resume', resumeSchedule],
  ] as const) {
    app.post<NameParams>(
      `/schedules/:name/${verb}`,
      { schema: { params: queueParamsSchema, body: emptyBodySchema } },
      async (request) => ({ schedule: scheduleView(await apply(ctx.exec, request.params.name)) }),
    );
  }

  app.post<NameParams>(
    '/schedules/:name/run',
    { schema: { params: queueParamsSchema, body: emptyBodySchema } },
    async (request, reply) => {
      const { schedule, jobId } = await runSchedule(ctx.exec, request.params.name, ctx.limits);
      return reply.code(201).send({ jobId, schedule: scheduleView(schedule) });
    },
  );
  done();
};

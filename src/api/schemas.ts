// Request JSON schemas shared by the routes. Limits and the "expected …" texts come from the queue
// library's validation (src/queue/validate.ts), so the API, the CLI and the library agree on what is valid;
// each property's description is what a 400 says was expected.
import { JOB_STATUSES } from '../db/schema.js';
import { ValidationError } from '../errors.js';
import { checkInteger } from '../parse.js';
import {
  IDEMPOTENCY_KEY_MAX,
  KEY_MAX,
  MAX_ATTEMPTS_MAX,
  MAX_DELAY_MS,
  NAME_RE,
  PRIORITY_MAX,
  PRIORITY_MIN,
  validateId,
  validateName,
  validateStatus,
} from '../queue/index.js';

/** The "expected" text of the library's validator, so schema errors read like library errors. */
function expectedOf(check: () => unknown): string {
  try {
    check();
  } catch (err) {
    if (err instanceof ValidationError) return err.expected;
  }
  throw new Error('validator accepted its probe value');
}

const NAME_EXPECTED = expectedOf(() => validateName('f', ''));
const ID_EXPECTED = expectedOf(() => validateId('f', ''));
const STATUS_EXPECTED = expectedOf(() => validateStatus('f', ''));
const intExpected = (min: number, max: number): string => expectedOf(() => checkInteger('f', 0.5, min, max));

export const MAX_BATCH = 1000;
export const MAX_PAGE = 1000;

/** A queue or job type name. */
export const nameSchema = { type: 'string', pattern: NAME_RE.source, description: NAME_EXPECTED } as const;

/** A job id; the pattern is loose on purpose: the library's validateId decides (and names the field). */
export const idSchema = { type: 'string', maxLength: 64, description: ID_EXPECTED } as const;

/** One job to enqueue (POST /jobs, and each entry of POST /jobs/batch). */
export const enqueueSchema = {
  type: 'object',
  description: 'a JSON object such as {"type":"demo.sleep","payload":{"seconds":2}}',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: nameSchema,
    payload: { description: 'any JSON value' },
    queue: nameSchema,
    priority: {
      type: 'integer',
      minimum: PRIORITY_MIN,
      maximum: PRIORITY_MAX,
      description: intExpected(PRIORITY_MIN, PRIORITY_MAX),
    },
    runAt: {
      type: 'string',
      maxLength: 64,
      description: 'an ISO-8601 time such as 2030-01-01T09:00:00Z',
    },
    delaySeconds: {
      type: 'number',
      minimum: 0,
      maximum: MAX_DELAY_MS / 1000,
      description: `a number of seconds from 0 to ${MAX_DELAY_MS / 1000}`,
    },
    maxAttempts: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_ATTEMPTS_MAX,
      description: intExpected(1, MAX_ATTEMPTS_MAX),
    },
    idempotencyKey: {
      type: 'string',
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_MAX,
      description: `a string of 1-${IDEMPOTENCY_KEY_MAX} characters`,
    },
    key: {
      type: 'string',
      minLength: 1,
      maxLength: KEY_MAX,
      description: `the job's key (tenant): a string of 1-${KEY_MAX} characters`,
    },
  },
} as const;

export const batchSchema = {
  type: 'object',
  description: 'a JSON object {"jobs": [...]}',
  additionalProperties: false,
  required: ['jobs'],
  properties: {
    jobs: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH,
      items: enqueueSchema,
      description: `an array of 1-${MAX_BATCH} jobs`,
    },
  },
} as const;

const statusSchema = {
  type: 'string',
  enum: [...JOB_STATUSES, ...JOB_STATUSES.map((s) => s.toLowerCase())],
  description: STATUS_EXPECTED,
} as const;

const limitSchema = {
  type: 'string',
  pattern: '^[0-9]{1,4}$',
  description: intExpected(1, MAX_PAGE),
} as const;

/** Query of GET /jobs. */
export const listQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: statusSchema,
    queue: nameSchema,
    type: nameSchema,
    limit: limitSchema,
    cursor: { ...idSchema, description: `${ID_EXPECTED}: the nextCursor of the previous page` },
  },
} as const;

/** Query of GET /dead. */
export const deadQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    queue: nameSchema,
    type: nameSchema,
    limit: limitSchema,
    cursor: listQuerySchema.properties.cursor,
  },
} as const;

/** Body of POST /dead/retry (filters; none means every dead job). */
export const deadRetrySchema = {
  type: 'object',
  description: 'a JSON object {"queue"?: name, "type"?: name}',
  additionalProperties: false,
  properties: { queue: nameSchema, type: nameSchema },
} as const;

export const idParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: idSchema },
} as const;

export const queueParamsSchema = {
  type: 'object',
  required: ['name'],
  properties: { name: nameSchema },
} as const;

const limitValue = (what: string) =>
  ({
    type: ['integer', 'null'],
    minimum: 1,
    maximum: 1_000_000,
    description: `${what}: a whole number from 1 to 1000000, or null to remove it`,
  }) as const;

/** PUT /queues/:name/limits: the limits to change (absent: keep; null: remove). */
export const queueLimitsSchema = {
  type: 'object',
  description: 'a JSON object with any of concurrency, rate, burst, perKeyConcurrency',
  additionalProperties: false,
  properties: {
    concurrency: limitValue('concurrency'),
    rate: {
      type: ['string', 'null'],
      maxLength: 32,
      description: 'rate: job starts per period such as "10/s" or "600/m", or null to remove it',
    },
    burst: limitValue('burst'),
    perKeyConcurrency: limitValue('perKeyConcurrency'),
  },
} as const;

/** For bodyless POSTs: nothing, or an empty object. */
export const emptyBodySchema = {
  type: ['object', 'null'],
  description: 'no body (or an empty JSON object)',
  additionalProperties: false,
  properties: {},
} as const;

/** Parses a validated limit string (the schema checked its form; the library checks its range). */
export function pageLimit(limit: string | undefined): number | undefined {
  return limit === undefined ? undefined : Number(limit);
}

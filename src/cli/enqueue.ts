// `jobq enqueue <type> [options]` and `jobq enqueue --batch FILE|-` (NDJSON, all or nothing).
import type { Command } from 'commander';
import { UsageError, ValidationError } from '../errors.js';
import { parseDuration, parseInteger } from '../parse.js';
import { enqueue, insertRows, validateEnqueue, type EnqueueSpec, type JobInsert } from '../queue/index.js';
import { withDatabase } from './context.js';
import { parseJson, readPayload, readSource } from './input.js';
import { printJson, say } from './output.js';

interface EnqueueOptions {
  payload?: string;
  queue?: string;
  priority?: string;
  delay?: string;
  runAt?: string;
  maxAttempts?: string;
  idempotencyKey?: string;
  key?: string;
  batch?: string;
  json?: boolean;
}

const BATCH_FIELDS = new Set([
  'type',
  'payload',
  'queue',
  'priority',
  'runAt',
  'maxAttempts',
  'idempotencyKey',
  'key',
]);

/** Parses NDJSON batch text into specs (with their line numbers); errors name the line. */
export function parseBatch(text: string): { specs: EnqueueSpec[]; lines: number[] } {
  const specs: EnqueueSpec[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const field = `line ${i + 1}`;
    const obj = parseJson(field, line, 'a line that is not JSON');
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw new ValidationError(field, 'a JSON object such as {"type":"demo.echo"}');
    for (const k of Object.keys(obj)) {
      if (!BATCH_FIELDS.has(k))
        throw new ValidationError(`${field}: ${k}`, `one of the fields ${[...BATCH_FIELDS].join(', ')}`);
    }
    specs.push(obj as EnqueueSpec);
    lines.push(i + 1);
  });
  if (specs.length === 0) throw new ValidationError('--batch', 'at least one NDJSON line');
  return { specs, lines };
}

export function register(program: Command): void {
  program
    .command('enqueue [type]')
    .description('enqueue a job (prints its id and whether it is new), or a batch of NDJSON jobs')
    .option('--payload <json>', 'payload: inline JSON, @file.json, or - for stdin', '{}')
    .option('--queue <name>', 'queue name', 'default')
    .option('--priority <n>', 'higher runs first (-1000..1000)')
    .option('--delay <duration>', 'run after a delay, e.g. 30s, 5m')
    .option('--run-at <iso>', 'run at an ISO-8601 time')
    .option('--max-attempts <n>', 'attempts before the job goes DEAD (1..1000)')
    .option('--idempotency-key <key>', 'enqueue at most one job with this key')
    .option('--key <key>', "the job's key (tenant): per-key limits and fair shares between keys")
    .option(
      '--batch <file>',
      'NDJSON file (or - for stdin): one {type, payload, queue, priority, runAt, maxAttempts, idempotencyKey, key} per line',
    )
    .option('--json', 'machine-readable output')
    .action(async (type: string | undefined, opts: EnqueueOptions, cmd: Command) => {
      if (opts.batch !== undefined) {
        if (type !== undefined) throw new UsageError('give either a job type or --batch, not both');
        const { specs, lines } = parseBatch(await readSource('--batch', opts.batch));
        // Validated once, before the database is opened; inserted as they are.
        let rows: JobInsert[] = [];
        await withDatabase(
          cmd,
          async (db) => {
            const res = await insertRows(db.exec, rows);
            const created = res.filter((r) => r.created).length;
            if (opts.json) printJson({ created, existing: res.length - created, ids: res.map((r) => r.id) });
            else
              say(
                `created ${created} job${created === 1 ? '' : 's'}${res.length > created ? ` (${res.length - created} already existed)` : ''}`,
              );
          },
          {
            check: (config) => {
              rows = specs.map((s, i) => validateEnqueue(s, config, `line ${lines[i] ?? i + 1}: `));
            },
          },
        );
        return;
      }
      if (type === undefined)
        throw new UsageError('missing job type: jobq enqueue <type> [--payload JSON] (or --batch FILE)');
      if (opts.delay !== undefined && opts.runAt !== undefined)
        throw new UsageError('give either --delay or --run-at, not both');
      const spec: EnqueueSpec = {
        type,
        payload: await readPayload('--payload', opts.payload ?? '{}'),
        queue: opts.queue ?? 'default',
        ...(opts.priority !== undefined
          ? { priority: parseInteger('--priority', opts.priority, -1000, 1000) }
          : {}),
        ...(opts.maxAttempts !== undefined
          ? { maxAttempts: parseInteger('--max-attempts', opts.maxAttempts, 1, 1000) }
          : {}),
        ...(opts.delay !== undefined ? { delayMs: parseDuration('--delay', opts.delay) } : {}),
        ...(opts.runAt !== undefined ? { runAt: opts.runAt } : {}),
        ...(opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {}),
        ...(opts.key !== undefined ? { key: opts.key } : {}),
      };
      await withDatabase(
        cmd,
        async (db, config) => {
          const { job, created } = await enqueue(db.exec, spec, config);
          if (opts.json) printJson({ id: job.id, created, job });
          else say(`${job.id} ${created ? 'created' : 'exists (same idempotency key)'}`);
        },
        { check: (config) => validateEnqueue(spec, config) },
      );
    });
}

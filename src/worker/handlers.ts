// Handler registry: validates a handler map (function or { handler, timeoutMs, maxAttempts, backoff }),
// merges it over the built-ins, loads a handlers module by path or package name, and words the error of a
// job whose type this worker does not know.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValidationError } from '../errors.js';
import { checkInteger } from '../parse.js';
import { MAX_ATTEMPTS_MAX, NAME_RE, type BackoffOptions } from '../queue/index.js';
import { BUILTIN_HANDLERS } from './builtin.js';
import type { Handler, HandlerMap, ResolvedHandler } from './types.js';

const MAX_TIMEOUT_MS = 7 * 86_400_000;

/** Validates a handler map and applies defaults; errors name the offending type and option. */
export function resolveHandlers(
  map: Record<string, unknown>,
  defaults: BackoffOptions,
  field = 'handlers',
): Map<string, ResolvedHandler> {
  const out = new Map<string, ResolvedHandler>();
  for (const [type, value] of Object.entries(map)) {
    const f = `${field}["${type}"]`;
    if (!NAME_RE.test(type))
      throw new ValidationError(field, 'job types matching [a-z0-9][a-z0-9._-]{0,63}', JSON.stringify(type));
    if (typeof value === 'function') {
      out.set(type, {
        type,
        handler: value as Handler,
        timeoutMs: undefined,
        maxAttempts: undefined,
        backoff: defaults,
      });
      continue;
    }
    if (
      typeof value !== 'object' ||
      value === null ||
      typeof (value as { handler?: unknown }).handler !== 'function'
    )
      throw new ValidationError(
        f,
        'an async function (payload, ctx) => result, or { handler, timeoutMs?, maxAttempts?, backoff? }',
      );
    const spec = value as Record<string, unknown>;
    for (const k of Object.keys(spec)) {
      if (!['handler', 'timeoutMs', 'maxAttempts', 'backoff'].includes(k))
        throw new ValidationError(`${f}.${k}`, 'one of the options handler, timeoutMs, maxAttempts, backoff');
    }
    const backoff = (spec.backoff ?? {}) as Record<string, unknown>;
    if (typeof backoff !== 'object' || Array.isArray(backoff))
      throw new ValidationError(`${f}.backoff`, 'an object { baseMs?, maxMs? }');
    out.set(type, {
      type,
      handler: spec.handler as Handler,
      timeoutMs:
        spec.timeoutMs === undefined
          ? undefined
          : checkInteger(`${f}.timeoutMs`, spec.timeoutMs, 1, MAX_TIMEOUT_MS),
      maxAttempts:
        spec.maxAttempts === undefined
          ? undefined
          : checkInteger(`${f}.maxAttempts`, spec.maxAttempts, 1, MAX_ATTEMPTS_MAX),
      backoff: {
        baseMs:
          backoff.baseMs === undefined
            ? defaults.baseMs
            : checkInteger(`${f}.backoff.baseMs`, backoff.baseMs, 1, 86_400_000),
        maxMs:
          backoff.maxMs === undefined
            ? defaults.maxMs
            : checkInteger(`${f}.backoff.maxMs`, backoff.maxMs, 1, 30 * 86_400_000),
      },
    });
  }
  return out;
}

/** The built-ins with `map` merged over them (a type in `map` replaces the built-in of that name). */
export function withBuiltins(
  map: HandlerMap | undefined,
  defaults: BackoffOptions,
  field = 'handlers',
): Map<string, ResolvedHandler> {
  const merged = resolveHandlers(BUILTIN_HANDLERS, defaults);
  for (const [k, v] of resolveHandlers(map ?? {}, defaults, field)) merged.set(k, v);
  return merged;
}

function moduleUrl(specifier: string, cwd: string): string {
  const file = path.resolve(cwd, specifier);
  if (existsSync(file)) return pathToFileURL(file).href;
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) return pathToFileURL(file).href;
  // A package name: resolve it from the working directory, as the operator would expect.
  try {
    return pathToFileURL(createRequire(path.join(cwd, 'index.js')).resolve(specifier)).href;
  } catch {
    return specifier;
  }
}

/**
 * Loads a handlers module: its default export (or a named export `handlers`) must be an object mapping
 * job type → handler. Relative paths resolve against `cwd`; package names are resolved from it too.
 */
export async function loadHandlersModule(
  specifier: string,
  field = '--handlers / JOBQ_HANDLERS',
  cwd = process.cwd(),
): Promise<HandlerMap> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleUrl(specifier, cwd))) as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ValidationError(
      field,
      'a loadable ES module exporting job handlers',
      `${JSON.stringify(specifier)} (${why})`,
    );
  }
  const map = mod.default ?? mod.handlers;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new ValidationError(
      field,
      'a module whose default export (or export `handlers`) is an object mapping job type → handler',
      JSON.stringify(specifier),
    );
  return map as HandlerMap;
}

/**
 * The retry policy a claim records on each job (sql/jobs-claim.ts): type → {a: maxAttempts?, b: backoff
 * base, m: backoff cap}, as JSON, so a reclaim by any process decides RETRY/DEAD as a failure here would.
 */
export function retryPolicyJson(handlers: Map<string, ResolvedHandler>): string {
  const policy: Record<string, { a?: number; b: number; m: number }> = {};
  for (const h of handlers.values())
    policy[h.type] = {
      ...(h.maxAttempts !== undefined ? { a: h.maxAttempts } : {}),
      b: h.backoff.baseMs,
      m: h.backoff.maxMs,
    };
  return JSON.stringify(policy);
}

/** The error recorded for a job whose type this worker has no handler for. */
export function unknownTypeMessage(type: string, workerId: string, known: Iterable<string>): string {
  const list = [...known].sort();
  const shown =
    list.length > 20 ? `${list.slice(0, 20).join(', ')}, … ${list.length - 20} more` : list.join(', ');
  return (
    `no handler registered for type "${type}" on worker ${workerId} (it knows: ${shown}); ` +
    'the attempt is retried with backoff so a worker that has the handler (e.g. after a rolling deploy) can run it, ' +
    'and the job goes DEAD after its last attempt'
  );
}

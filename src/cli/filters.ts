// Parsing of the filter flags operator commands share (--status, --queue, --type, --limit, --cursor, ids).
// Everything is checked before the database is touched, and errors name the flag.
import { UsageError } from '../errors.js';
import { parseInteger } from '../parse.js';
import { validateId, validateName, validateStatus, type ListFilter } from '../queue/index.js';

export interface FilterFlags {
  status?: string;
  queue?: string;
  type?: string;
  limit?: string;
  cursor?: string;
}

/** The largest page an operator command lists at once. */
export const MAX_LIST_LIMIT = 1000;

/** Turns filter flags into a validated ListFilter (default limit 50). */
export function listFilterFrom(flags: FilterFlags): ListFilter & { limit: number } {
  return {
    ...(flags.status !== undefined ? { status: validateStatus('--status', flags.status) } : {}),
    ...(flags.queue !== undefined ? { queue: validateName('--queue', flags.queue) } : {}),
    ...(flags.type !== undefined ? { type: validateName('--type', flags.type) } : {}),
    ...(flags.cursor !== undefined ? { cursor: validateId('--cursor', flags.cursor) } : {}),
    limit: flags.limit === undefined ? 50 : parseInteger('--limit', flags.limit, 1, MAX_LIST_LIMIT),
  };
}

/** Validates job ids given as arguments (deduplicated, order kept). */
export function jobIdsFrom(ids: string[]): string[] {
  if (ids.length === 0) throw new UsageError('missing job id: give at least one');
  const field = (i: number): string => (ids.length === 1 ? 'id' : `id #${i + 1}`);
  return [...new Set(ids.map((id, i) => validateId(field(i), id)))];
}

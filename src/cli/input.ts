// Reading operator input: JSON payloads given inline, as @file or on stdin; NDJSON batches.
import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.js';

/** Reads all of stdin as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Text of a "FILE" or "-" (stdin) argument. */
export async function readSource(field: string, source: string): Promise<string> {
  if (source === '-') return readStdin();
  try {
    return readFileSync(source, 'utf8');
  } catch (err) {
    throw new ValidationError(
      field,
      'a readable file or "-" for standard input',
      `${JSON.stringify(source)} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    );
  }
}

/** Parses JSON text, naming the field on failure. */
export function parseJson(field: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(field, 'valid JSON', `${truncated(text)} (${(err as Error).message})`);
  }
}

/** A --payload value: inline JSON, @file.json, or - for stdin. */
export async function readPayload(field: string, value: string): Promise<unknown> {
  if (value === '-') return parseJson(field, await readStdin());
  if (value.startsWith('@')) return parseJson(field, await readSource(field, value.slice(1)));
  return parseJson(field, value);
}

function truncated(text: string): string {
  const t = text.trim();
  return JSON.stringify(t.length > 80 ? `${t.slice(0, 77)}...` : t);
}

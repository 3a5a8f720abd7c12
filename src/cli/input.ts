// Reading operator input: JSON payloads given inline, as @file or on stdin; NDJSON batches.
import { readFileSync } from 'node:fs';
import { jsonErrorDetail } from '../parse.js';
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

/**
 * Parses JSON text, naming the field on failure. `source` says where the text came from ("a file",
 * "standard input"): such text is never echoed (it may be any file); inline text is, shortened.
 */
export function parseJson(field: string, text: string, source?: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const what = source ?? JSON.stringify(text.trim());
    throw new ValidationError(field, 'valid JSON', `${what} (${jsonErrorDetail(err)})`);
  }
}

/** A --payload value: inline JSON, @file.json, or - for stdin. */
export async function readPayload(field: string, value: string): Promise<unknown> {
  if (value === '-') return parseJson(field, await readStdin(), 'standard input');
  if (value.startsWith('@')) {
    const file = value.slice(1);
    return parseJson(field, await readSource(field, file), `the file ${JSON.stringify(file)}`);
  }
  return parseJson(field, value);
}

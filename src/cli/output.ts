// Output helpers for operator commands: cli-table3 tables for humans, JSON for machines.
import Table from 'cli-table3';
import { formatDuration } from '../parse.js';

/** Prints a value as JSON (lists as a JSON array). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as a table with the given header. */
export function printTable(head: string[], rows: (string | number)[][]): void {
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) table.push(r.map((c) => String(c)));
  process.stdout.write(`${table.toString()}\n`);
}

/** "3s ago", "in 2m 5s", or "-" for null. */
export function relativeTime(d: Date | null | undefined, now = Date.now()): string {
  if (!d) return '-';
  const diff = d.getTime() - now;
  if (Math.abs(diff) < 1000) return 'now';
  return diff < 0 ? `${formatDuration(-diff)} ago` : `in ${formatDuration(diff)}`;
}

/** ISO time or "-". */
export function iso(d: Date | null | undefined): string {
  return d ? d.toISOString() : '-';
}

/** Shortens text for a table cell. */
export function truncate(s: string | null | undefined, max = 60): string {
  if (!s) return '-';
  const one = s.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** Writes a line to stdout. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

// Text helpers for `jobq top`: fixed-width cells, sparklines, short ages. Pure functions (tested directly).
import { formatDuration } from '../parse.js';

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of non-negative values: "·" for zero, ▁…█ scaled to the largest value. */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((v) => {
      if (v <= 0 || max === 0) return '·';
      const i = Math.min(BARS.length - 1, Math.ceil((v / max) * BARS.length) - 1);
      return BARS[i] ?? '█';
    })
    .join('');
}

/** Pads or cuts text to exactly `width` characters (… marks a cut); right-aligns when asked. */
export function cell(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const one = text.replace(/\s+/g, ' ');
  const cut = one.length > width ? (width === 1 ? '…' : `${one.slice(0, width - 1)}…`) : one;
  return align === 'right' ? cut.padStart(width) : cut.padEnd(width);
}

/** "3.2s", "4m 10s", or "-" for null. */
export function age(seconds: number | null): string {
  if (seconds === null) return '-';
  return seconds < 1 ? '<1s' : formatDuration(Math.round(seconds) * 1000);
}

/** "now", "12s ago", "in 3m". */
export function ago(d: Date, now: number): string {
  const diff = now - d.getTime();
  if (Math.abs(diff) < 1000) return 'now';
  return diff > 0 ? `${formatDuration(diff)} ago` : `in ${formatDuration(-diff)}`;
}

/** Compact counts: 999, 1.2k, 35k, 1.2M. */
export function count(n: number): string {
  if (n < 1000) return String(n);
  if (n < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

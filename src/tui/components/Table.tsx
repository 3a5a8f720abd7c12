// A fixed-width text table for `jobq top`: columns drop out below a terminal width, one flexible
// column takes the rest, the selected row is marked with ▶ and shown inverse.
import { Box, Text } from 'ink';
import { cell } from '../format.js';

export interface Column {
  key: string;
  header: string;
  /** Fixed width, or 'flex' for the one column that takes the remaining width. */
  width: number | 'flex';
  align?: 'left' | 'right';
  /** Hide the column when the terminal is narrower than this. */
  hideBelow?: number;
  /** Bounds of the flexible column. */
  min?: number;
  max?: number;
}

export interface Cell {
  text: string;
  color?: string | undefined;
  dim?: boolean | undefined;
}

export interface Row {
  key: string;
  cells: Record<string, Cell | string>;
  selected?: boolean;
}

/** Columns visible at this width, with the flexible one sized. Gaps of one space separate columns. */
export function layout(columns: Column[], width: number): (Column & { w: number })[] {
  const visible = columns.filter((c) => c.hideBelow === undefined || width >= c.hideBelow);
  const fixed = visible.reduce((s, c) => s + (c.width === 'flex' ? 0 : c.width) + 1, 2);
  return visible.map((c) => {
    if (c.width !== 'flex') return { ...c, w: c.width };
    const rest = width - fixed - 1;
    return { ...c, w: Math.max(c.min ?? 4, Math.min(c.max ?? rest, rest)) };
  });
}

/** Renders a header and rows within `width` columns. */
export function Table({ columns, rows, width }: { columns: Column[]; rows: Row[]; width: number }) {
  const cols = layout(columns, width);
  return (
    <Box flexDirection="column">
      <Text dimColor>
        {'  '}
        {cols.map((c) => cell(c.header, c.w, c.align)).join(' ')}
      </Text>
      {rows.map((r) => (
        <Text key={r.key} inverse={r.selected === true}>
          {r.selected ? '▶ ' : '  '}
          {cols.map((c, i) => {
            const v = r.cells[c.key] ?? '';
            const x: Cell = typeof v === 'string' ? { text: v } : v;
            return (
              <Text key={c.key} {...(x.color ? { color: x.color } : {})} dimColor={x.dim === true}>
                {cell(x.text, c.w, c.align)}
                {i < cols.length - 1 ? ' ' : ''}
              </Text>
            );
          })}
        </Text>
      ))}
    </Box>
  );
}

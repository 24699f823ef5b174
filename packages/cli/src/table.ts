/**
 * Human output for the station verbs: aligned tables, times and durations. Colour is applied by
 * `Output.style`, which paints only on a terminal (and never with NO_COLOR); widths are computed
 * on the plain text, so colour never breaks the alignment.
 */

export interface Column {
  title: string;
  /** Right-align (numbers, durations). */
  right?: boolean;
}

/** Pads cells to their column's widest; `paint` styles a cell after padding (colour). */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[], paint?: (row: number, col: number, padded: string) => string): string {
  const widths = columns.map((c, i) => Math.max(width(c.title), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[], row: number): string =>
    cells
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        const pad = ' '.repeat(Math.max(0, w - width(cell)));
        const last = i === cells.length - 1;
        const padded = columns[i]?.right === true ? pad + cell : last ? cell : cell + pad;
        return row >= 0 && paint !== undefined ? paint(row, i, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title), -1), ...rows.map((r, i) => line(r, i))].join('\n');
}

/** Display width, counting code points (good enough for the ids, times and subjects shown). */
function width(s: string): number {
  return Array.from(s).length;
}

/** `2026-01-07 14:03:09Z`: UTC, to the second, the same on every desk. */
export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** A duration for people: `850ms`, `12.3s`, `4m05s`, `3h10m`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  const neg = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1000) return `${neg}${Math.round(a)}ms`;
  if (a < 60_000) return `${neg}${(a / 1000).toFixed(1)}s`;
  if (a < 3_600_000) return `${neg}${Math.floor(a / 60_000)}m${String(Math.floor((a % 60_000) / 1000)).padStart(2, '0')}s`;
  return `${neg}${Math.floor(a / 3_600_000)}h${String(Math.floor((a % 3_600_000) / 60_000)).padStart(2, '0')}m`;
}

/** Cuts text to `max` code points for a table cell, on one line. */
export function cut(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  const cps = Array.from(one);
  return cps.length <= max ? one : `${cps.slice(0, max - 1).join('')}…`;
}

/**
 * A small horizontal bar chart as SVG text, made by our own code so the report needs no
 * plotting library: one row per category, one bar per series, a linear or log10 axis with
 * ticks, values printed at the end of each bar. Labels are escaped; missing values (NaN,
 * undefined) draw no bar and print '—'.
 */
export interface ChartSeries {
  name: string;
  color: string;
}

export interface BarChart {
  title: string;
  /** Axis caption, e.g. 'messages per second'. */
  unit: string;
  series: readonly ChartSeries[];
  /** One row per category: its label and one value per series (same order). */
  rows: readonly { label: string; values: readonly (number | undefined)[]; color?: string }[];
  /** Legend entries; default the series (a row's own color is then worth a legend entry). */
  legend?: readonly ChartSeries[];
  scale?: 'linear' | 'log';
  width?: number;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

function valueText(v: number): string {
  if (v === 0) return '0';
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

/** Tick values for an axis from 0 (linear) or the decade below `min` (log) to at least `max`. */
export function ticks(min: number, max: number, scale: 'linear' | 'log'): number[] {
  if (scale === 'log') {
    const lo = Math.floor(Math.log10(min));
    const hi = Math.ceil(Math.log10(max));
    const out: number[] = [];
    for (let e = lo; e <= Math.max(hi, lo + 1); e++) out.push(10 ** e);
    return out;
  }
  const top = max > 0 ? max : 1;
  const raw = top / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let v = 0; v < top + step; v += step) out.push(v);
  return out;
}

export function renderBarChart(c: BarChart): string {
  const scale = c.scale ?? 'linear';
  const width = c.width ?? 760;
  const labelW = 250;
  const right = 70;
  const barH = 14;
  const gap = 10;
  const top = 44;
  const plotW = width - labelW - right;
  const values = c.rows.flatMap((r) => r.values).filter((v): v is number => v !== undefined && Number.isFinite(v) && (scale === 'linear' || v > 0));
  const max = values.length > 0 ? Math.max(...values) : 1;
  const min = values.length > 0 ? Math.min(...values) : 1;
  const axis = ticks(scale === 'log' ? min : 0, max, scale);
  const a0 = axis[0]!;
  const a1 = axis[axis.length - 1]!;
  const x = (v: number): number => {
    const f = scale === 'log' ? (Math.log10(v) - Math.log10(a0)) / (Math.log10(a1) - Math.log10(a0)) : (v - a0) / (a1 - a0 || 1);
    return labelW + Math.max(0, Math.min(1, f)) * plotW;
  };
  const rowH = c.series.length * barH + gap;
  const plotH = c.rows.length * rowH;
  // The legend below the axis caption, wrapped to the chart's width.
  const legendItems: { s: ChartSeries; x: number; y: number }[] = [];
  let lx = labelW;
  let ly = top + plotH + 50;
  for (const s of c.legend ?? c.series) {
    const w = 24 + s.name.length * 6.5;
    if (lx > labelW && lx + w > width) {
      lx = labelW;
      ly += 16;
    }
    legendItems.push({ s, x: lx, y: ly });
    lx += w;
  }
  const height = ly + 14;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(c.title)}</text>`);
  for (const t of axis) {
    const tx = x(t).toFixed(1);
    out.push(`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${top + plotH}" stroke="#ddd"/>`);
    out.push(`<text x="${tx}" y="${top + plotH + 14}" text-anchor="middle" fill="#555">${escapeXml(valueText(t))}</text>`);
  }
  out.push(`<text x="${labelW + plotW / 2}" y="${top + plotH + 28}" text-anchor="middle" fill="#333">${escapeXml(c.unit)}${scale === 'log' ? ' (log scale)' : ''}</text>`);
  c.rows.forEach((row, i) => {
    const y0 = top + i * rowH;
    out.push(`<text x="${labelW - 8}" y="${(y0 + (c.series.length * barH) / 2 + 4).toFixed(1)}" text-anchor="end">${escapeXml(row.label)}</text>`);
    c.series.forEach((s, j) => {
      const v = row.values[j];
      const y = y0 + j * barH;
      const drawable = v !== undefined && Number.isFinite(v) && (scale === 'linear' || v > 0);
      if (drawable) {
        const w = Math.max(1, x(v) - labelW);
        out.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${escapeXml(row.color ?? s.color)}"><title>${escapeXml(`${row.label}, ${s.name}: ${valueText(v)}`)}</title></rect>`);
      }
      out.push(`<text x="${(drawable ? x(v) : labelW) + 4}" y="${y + barH - 4}" fill="#222">${drawable ? escapeXml(valueText(v)) : '—'}</text>`);
    });
  });
  for (const { s, x: ex, y: ey } of legendItems) {
    out.push(`<rect x="${ex}" y="${ey - 9}" width="10" height="10" fill="${escapeXml(s.color)}"/>`);
    out.push(`<text x="${ex + 14}" y="${ey}">${escapeXml(s.name)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

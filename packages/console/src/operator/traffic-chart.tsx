/**
 * Traffic over time as an SVG stacked bar chart drawn by React: one bar per time bucket,
 * stacked by precedence. Geometry is SVG attributes and colours are classes, because the
 * console's CSP forbids inline styles. The same figures are in the table beside it, which is
 * what a screen reader reads (the chart is one labelled image).
 */
import type { AdminTraffic, AdminTrafficRow } from '@backchannel/relay';
import { clock, plural } from './format.js';

export const PRECEDENCE_ORDER = ['FLASH', 'IMMEDIATE', 'PRIORITY', 'ROUTINE'] as const;
type Prec = (typeof PRECEDENCE_ORDER)[number];

const W = 760;
const H = 240;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

/** A round step for the y axis: 1, 2 or 5 times a power of ten. */
function niceStep(max: number): number {
  const raw = Math.max(1, max) / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return Math.max(1, m * p);
  return Math.max(1, 10 * p);
}

export function TrafficChart(props: { traffic: AdminTraffic; rows: readonly AdminTrafficRow[] }): React.JSX.Element {
  const { traffic, rows } = props;
  const n = Math.max(1, Math.ceil((traffic.until - traffic.since) / traffic.bucketMs));
  const counts = Array.from({ length: n }, (): Record<Prec, number> => ({ FLASH: 0, IMMEDIATE: 0, PRIORITY: 0, ROUTINE: 0 }));
  for (const r of rows) {
    const i = Math.floor((r.bucket - traffic.since) / traffic.bucketMs);
    const c = counts[i];
    if (c !== undefined) c[r.precedence] += r.envelopes;
  }
  const totals = counts.map((c) => PRECEDENCE_ORDER.reduce((s, p) => s + c[p], 0));
  const max = Math.max(0, ...totals);
  const step = niceStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / n;
  const barW = Math.max(1, slot * 0.8);
  const y = (v: number): number => PAD.top + plotH - (v / top) * plotH;
  const ticks: number[] = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);
  const multiDay = traffic.until - traffic.since > 86_400_000;
  const labelEvery = Math.max(1, Math.ceil(n / 8));
  const total = totals.reduce((a, b) => a + b, 0);

  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Envelopes per ${clockWidth(traffic.bucketMs)} by precedence: ${plural(total, 'envelope')} in the window, at most ${max} in one bucket`}>
      {ticks.map((v) => (
        <g key={`t${v}`}>
          <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} />
          <text className="axis" x={PAD.left - 6} y={y(v) + 4} textAnchor="end">
            {v}
          </text>
        </g>
      ))}
      {counts.map((c, i) => {
        let acc = 0;
        const x = PAD.left + i * slot + (slot - barW) / 2;
        return (
          <g key={`b${i}`}>
            {PRECEDENCE_ORDER.map((p) => {
              const v = c[p];
              if (v === 0) return null;
              const y0 = y(acc);
              acc += v;
              const y1 = y(acc);
              return (
                <rect key={p} className={`bar prec-${p}`} x={x} y={y1} width={barW} height={Math.max(1, y0 - y1)}>
                  <title>{`${clock(traffic.since + i * traffic.bucketMs, multiDay)} UTC: ${v} ${p}`}</title>
                </rect>
              );
            })}
          </g>
        );
      })}
      {counts.map((_, i) =>
        i % labelEvery === 0 ? (
          <text key={`x${i}`} className="axis" x={PAD.left + i * slot} y={H - 8}>
            {clock(traffic.since + i * traffic.bucketMs, multiDay)}
          </text>
        ) : null,
      )}
      <line className="axis-line" x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} />
    </svg>
  );
}

function clockWidth(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

export function Legend(): React.JSX.Element {
  return (
    <ul className="legend" aria-label="Precedence colours">
      {PRECEDENCE_ORDER.map((p) => (
        <li key={p}>
          <svg className="swatch" viewBox="0 0 10 10" aria-hidden="true">
            <rect className={`bar prec-${p}`} width="10" height="10" />
          </svg>
          {p}
        </li>
      ))}
    </ul>
  );
}

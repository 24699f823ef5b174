/**
 * A note's delivery timeline as a picture: one lane per channel, from the note's creation on
 * the left, with its submitted, delivered and acknowledged moments (or, for a received note,
 * each copy's arrival and our acknowledgement of it) against the precedence deadline, a dashed
 * red line. Drawn by React as SVG attributes and classes only: no inline style, which the CSP
 * forbids. The same facts are given as text in the picture's description for screen readers.
 */
import { useId } from 'react';
import { formatDuration } from '../shared/format.js';
import type { NoteView } from './types.js';

type PointKind = 'submitted' | 'delivered' | 'acknowledged' | 'received' | 'invalid' | 'failed';

interface Lane {
  relay: string;
  points: { kind: PointKind; at: number }[];
}

const LABEL: Readonly<Record<PointKind, string>> = {
  submitted: 'submitted',
  delivered: 'delivered',
  acknowledged: 'acknowledged',
  received: 'received',
  invalid: 'invalid copy received',
  failed: 'submission failed',
};

export function lanesOf(n: NoteView): Lane[] {
  if (n.direction === 'out') {
    return n.channels.map((c) => {
      const points: Lane['points'] = [];
      if (c.submitted_at !== null) points.push({ kind: 'submitted', at: c.submitted_at });
      if (c.delivered_at !== null) points.push({ kind: 'delivered', at: c.delivered_at });
      if (c.acked_at !== null) points.push({ kind: 'acknowledged', at: c.acked_at });
      if (c.error !== null && c.submitted_at === null) points.push({ kind: 'failed', at: c.error.at });
      return { relay: c.role === 'failover' ? `${c.relay} (failover)` : c.relay, points };
    });
  }
  return [...n.copies].sort((a, b) => a.relay.localeCompare(b.relay)).map((c) => {
    const points: Lane['points'] = [{ kind: c.valid ? 'received' : 'invalid', at: c.received_at }];
    const ack = n.timeline.find((e) => e.event === 'copy_acknowledged' && e.relay === c.relay);
    if (ack !== undefined) points.push({ kind: 'acknowledged', at: ack.at });
    return { relay: c.relay, points };
  });
}

const W = 760;
const LEFT = 170;
const RIGHT = 24;
const TOP = 26;
const LANE_H = 40;
const BOTTOM = 22;

/** What a lane reached last, for its caption: the furthest step and when. */
function caption(l: Lane, t0: number): string {
  const order: PointKind[] = ['failed', 'submitted', 'invalid', 'received', 'delivered', 'acknowledged'];
  const last = [...l.points].sort((a, b) => order.indexOf(b.kind) - order.indexOf(a.kind))[0];
  return last === undefined ? 'waiting' : `${LABEL[last.kind]} +${formatDuration(last.at - t0)}`;
}

function Marker(props: { kind: PointKind; x: number; y: number; late: boolean }): React.JSX.Element {
  const { kind, x, y } = props;
  const cls = `m-${kind}${props.late ? ' late' : ''}`;
  switch (kind) {
    case 'delivered':
      return <rect className={cls} x={x - 5} y={y - 5} width={10} height={10} rx={1} />;
    case 'acknowledged':
      return <path className={cls} d={`M ${String(x)} ${String(y - 7)} L ${String(x + 7)} ${String(y)} L ${String(x)} ${String(y + 7)} L ${String(x - 7)} ${String(y)} Z`} />;
    case 'failed':
    case 'invalid':
      return <path className={cls} d={`M ${String(x - 5)} ${String(y - 5)} L ${String(x + 5)} ${String(y + 5)} M ${String(x + 5)} ${String(y - 5)} L ${String(x - 5)} ${String(y + 5)}`} />;
    default:
      return <circle className={cls} cx={x} cy={y} r={5} />;
  }
}

/**
 * `objectiveMs`: the precedence's delivery objective, for a received note (the station records a
 * deadline only for the notes it sends; a received note is measured against the same objective
 * from its creation).
 */
export function DeliveryTimeline(props: { note: NoteView; now: number; objectiveMs?: number | undefined }): React.JSX.Element {
  const n = { ...props.note, deadline: props.note.deadline ?? (props.objectiveMs === undefined || props.note.kind !== 'note' ? null : props.note.created + props.objectiveMs) };
  const id = useId();
  const lanes = lanesOf(n);
  const times = lanes.flatMap((l) => l.points.map((p) => p.at));
  const t0 = n.created;
  const pending = n.direction === 'out' && (n.status === 'pending' || n.status === 'submitted' || n.status === 'delivered');
  let tEnd = Math.max(t0 + 1000, ...times, n.deadline ?? 0);
  if (pending && n.deadline !== null && props.now < n.deadline) tEnd = Math.max(tEnd, props.now);
  const span = (tEnd - t0) * 1.04;
  // A square-root time scale: deliveries take seconds against deadlines of minutes or hours,
  // and the first seconds must stay readable while the deadline stays in the picture.
  const x = (t: number): number => LEFT + Math.sqrt(Math.max(0, t - t0) / span) * (W - LEFT - RIGHT);
  const H = TOP + Math.max(lanes.length, 1) * LANE_H + BOTTOM;
  const ticks = [0, 0.2, 0.4, 0.6, 0.8].map((f) => t0 + f * f * span);
  const desc = [
    n.deadline === null ? 'No deadline.' : `Deadline ${formatDuration(n.deadline - t0)} after creation.`,
    ...lanes.map((l) => `${l.relay}: ${l.points.length === 0 ? 'nothing yet' : l.points.map((p) => `${LABEL[p.kind]} after ${formatDuration(p.at - t0)}${n.deadline !== null && p.at > n.deadline ? ' (late)' : ''}`).join(', ')}.`),
  ].join(' ');
  return (
    <figure className="timeline-figure">
      <svg className="timeline" viewBox={`0 0 ${String(W)} ${String(H)}`} role="img" aria-labelledby={`${id}-t ${id}-d`} data-testid="timeline">
        <title id={`${id}-t`}>Delivery timeline per channel</title>
        <desc id={`${id}-d`}>{desc}</desc>
        {ticks.map((t) => (
          <g key={t}>
            <line className="axis" x1={x(t)} x2={x(t)} y1={TOP - 6} y2={H - BOTTOM + 4} />
            <text className="tick-label" x={x(t)} y={H - 6} textAnchor="middle">
              {t === t0 ? 'created' : `+${formatDuration(t - t0)}`}
            </text>
          </g>
        ))}
        {n.deadline === null ? null : (
          <g>
            <line className="deadline" x1={x(n.deadline)} x2={x(n.deadline)} y1={TOP - 14} y2={H - BOTTOM + 4} />
            <text className="deadline-label" x={x(n.deadline) - 4} y={TOP - 16 + 8} textAnchor="end">
              {`deadline +${formatDuration(n.deadline - t0)}`}
            </text>
          </g>
        )}
        {lanes.map((l, i) => {
          const y = TOP + i * LANE_H + LANE_H / 2;
          const last = l.points.reduce((m, p) => Math.max(m, p.at), t0);
          const reached = l.points.some((p) => p.kind === 'delivered' || p.kind === 'acknowledged' || p.kind === 'received');
          return (
            <g key={l.relay} data-relay={l.relay}>
              <text className="lane-label" x={8} y={y - 3}>
                {l.relay}
              </text>
              <text className="lane-caption" x={8} y={y + 12}>
                {caption(l, t0)}
              </text>
              <line className="lane" x1={x(t0)} x2={W - RIGHT} y1={y} y2={y} />
              {l.points.length === 0 ? null : <line className={reached ? 'span-delivered' : 'span-submitted'} x1={x(t0)} x2={x(last)} y1={y} y2={y} />}
              {l.points.map((p) => (
                <Marker key={`${p.kind}-${String(p.at)}`} kind={p.kind} x={x(p.at)} y={y} late={n.deadline !== null && p.at > n.deadline} />
              ))}
            </g>
          );
        })}
      </svg>
      <ul className="legend" aria-hidden="true">
        <li>
          <svg width="14" height="14" viewBox="-7 -7 14 14"><circle className="m-submitted" r={5} /></svg>submitted
        </li>
        <li>
          <svg width="14" height="14" viewBox="-7 -7 14 14"><rect className="m-delivered" x={-5} y={-5} width={10} height={10} /></svg>delivered
        </li>
        <li>
          <svg width="14" height="14" viewBox="-7 -7 14 14"><circle className="m-received" r={5} /></svg>copy received
        </li>
        <li>
          <svg width="14" height="14" viewBox="-8 -8 16 16"><path className="m-acknowledged" d="M 0 -7 L 7 0 L 0 7 L -7 0 Z" /></svg>acknowledged
        </li>
        <li>
          <svg width="14" height="14" viewBox="-7 -7 14 14"><line className="deadline" x1={0} x2={0} y1={-7} y2={7} /></svg>deadline
        </li>
      </ul>
    </figure>
  );
}

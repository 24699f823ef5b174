/** The small signs the inbox and the thread share: precedence, attribution, copies, warnings. */
import type { NoteView } from './types.js';

export function PrecedenceBadge(props: { precedence: string }): React.JSX.Element {
  return <span className={`badge prec-${props.precedence}`}>{props.precedence}</span>;
}

/** Attribution is the office, an official or the institution, never more (DESIGN.md). */
export function Attribution(props: { note: NoteView }): React.JSX.Element {
  const a = props.note.attribution;
  if (a === null) return <span className="muted">—</span>;
  return (
    <span className="attribution">
      {a.level === 'official' ? `${a.name}, ${a.title}` : `${a.name} (institutional)`}
      <span className="visually-hidden"> — {a.level}</span>
    </span>
  );
}

export function isUnread(n: NoteView): boolean {
  return n.direction === 'in' && n.status === 'received';
}

export function copiesDisagree(n: NoteView): boolean {
  return !n.consistent || n.equivocated || n.copies.some((c) => !c.valid);
}

/** A deadline was missed: the station said so, or an outgoing note is not acknowledged by it. */
export function deadlineMissed(n: NoteView, now: number): boolean {
  if (n.timeline.some((e) => e.event === 'deadline')) return true;
  if (n.direction !== 'out' || n.deadline === null) return false;
  const acked = n.channels.map((c) => c.acked_at).filter((x): x is number => x !== null);
  if (acked.length > 0) return Math.min(...acked) > n.deadline;
  return now > n.deadline && n.status !== 'acknowledged' && n.status !== 'read';
}

export function Copies(props: { note: NoteView }): React.JSX.Element {
  const n = props.note;
  if (n.direction === 'out') {
    const via = n.channels.filter((c) => c.submitted_at !== null).sort((a, b) => a.relay.localeCompare(b.relay));
    return (
      <span className="copies" aria-label={`sent through ${String(via.length)} channel${via.length === 1 ? '' : 's'}`}>
        {via.map((c) => (
          <span key={c.relay} className="copy">
            {c.relay}
          </span>
        ))}
      </span>
    );
  }
  return (
    <span className="copies" aria-label={`${String(n.copies.length)} cop${n.copies.length === 1 ? 'y' : 'ies'} received`}>
      {[...n.copies].sort((a, b) => a.relay.localeCompare(b.relay)).map((c) => (
        <span key={`${c.relay}-${c.digest}`} className={c.valid ? 'copy' : 'copy invalid'} title={c.valid ? `copy from ${c.relay}` : `invalid copy from ${c.relay}`}>
          {c.relay}
          {c.valid ? '' : ' ✕'}
        </span>
      ))}
    </span>
  );
}

export function Marks(props: { note: NoteView; now: number }): React.JSX.Element {
  const n = props.note;
  return (
    <span className="marks">
      {isUnread(n) ? <span className="badge unread">Unread</span> : null}
      {copiesDisagree(n) ? <span className="badge bad">Copies disagree</span> : null}
      {deadlineMissed(n, props.now) ? <span className="badge warn">Deadline missed</span> : null}
      {n.alerts.length > 0 && !copiesDisagree(n) ? <span className="badge warn">{`${String(n.alerts.length)} alert${n.alerts.length === 1 ? '' : 's'}`}</span> : null}
    </span>
  );
}

export function StatusBadge(props: { status: string }): React.JSX.Element {
  const cls = props.status === 'failed' ? 'bad' : props.status === 'acknowledged' || props.status === 'read' || props.status === 'received' ? 'ok' : props.status === 'pending' ? 'warn' : 'neutral';
  return <span className={`badge ${cls}`}>{props.status}</span>;
}

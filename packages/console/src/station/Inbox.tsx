/**
 * The inbox: one row per thread, newest first, showing its latest note — precedence,
 * attribution, category, arrival, the copies per channel, and marks when copies disagreed or a
 * deadline was missed. Unread and FLASH rows stand out. Protocol traffic (acknowledgements,
 * heartbeats, read receipts, bundles) is hidden unless asked for.
 */
import { useState } from 'react';
import { formatIso, formatTime } from '../shared/format.js';
import { Attribution, Copies, Marks, PrecedenceBadge, isUnread } from './marks.js';
import { composeHref, threadHref } from './routes.js';
import type { InboxAnswer, NoteView, ThreadView } from './types.js';
import { useApi } from './use-api.js';

const PRECEDENCE_ORDER = ['FLASH', 'IMMEDIATE', 'PRIORITY', 'ROUTINE'];

function arrival(n: NoteView): number {
  if (n.direction === 'out') return n.created;
  const times = n.copies.map((c) => c.received_at);
  return times.length === 0 ? n.created : Math.min(...times);
}

function threadRow(t: ThreadView, showProtocol: boolean): { latest: NoteView; unread: number; flash: boolean; highest: string } | undefined {
  const notes = t.notes.filter((n) => showProtocol || n.kind === 'note');
  if (notes.length === 0) return undefined;
  const latest = notes.reduce((a, b) => (arrival(b) > arrival(a) ? b : a));
  const unread = notes.filter(isUnread).length;
  const highest = notes.map((n) => n.precedence).sort((a, b) => PRECEDENCE_ORDER.indexOf(a) - PRECEDENCE_ORDER.indexOf(b))[0] ?? latest.precedence;
  return { latest, unread, flash: notes.some((n) => n.precedence === 'FLASH' && isUnread(n)), highest };
}

export function Inbox(props: { version: number; party: string }): React.JSX.Element {
  const [showProtocol, setShowProtocol] = useState(false);
  const { data, error } = useApi<InboxAnswer>('/api/inbox?limit=500', props.version);
  const now = Date.now();
  const rows = (data?.threads ?? [])
    .map((t) => ({ t, r: threadRow(t, showProtocol) }))
    .filter((x): x is { t: ThreadView; r: NonNullable<ReturnType<typeof threadRow>> } => x.r !== undefined)
    .sort((a, b) => arrival(b.r.latest) - arrival(a.r.latest));
  const unread = rows.reduce((s, x) => s + x.r.unread, 0);
  return (
    <main className="page" id="main" tabIndex={-1}>
      <div className="page-head">
        <h1>
          Inbox <span className="muted">{unread === 0 ? '' : `(${String(unread)} unread)`}</span>
        </h1>
        <div className="toolbar">
          <label>
            <input type="checkbox" checked={showProtocol} onChange={(e) => { setShowProtocol(e.target.checked); }} /> Show acknowledgements and heartbeats
          </label>
          <a className="button primary" href={composeHref()}>
            New note
          </a>
        </div>
      </div>
      {error === undefined ? null : <p className="form-error" role="alert">{error}</p>}
      {data === undefined ? (
        <p className="muted" role="status">Loading…</p>
      ) : rows.length === 0 ? (
        <p className="empty">No notes yet.</p>
      ) : (
        <table aria-label="Threads, newest first">
          <thead>
            <tr>
              <th scope="col">Precedence</th>
              <th scope="col">Party</th>
              <th scope="col">Subject</th>
              <th scope="col">Attribution</th>
              <th scope="col">Category</th>
              <th scope="col">Arrived</th>
              <th scope="col">Copies</th>
              <th scope="col">Marks</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ t, r }) => {
              const n = r.latest;
              const cls = ['row-link', r.unread > 0 ? 'unread' : '', r.flash ? 'flash' : ''].filter((x) => x !== '').join(' ');
              return (
                <tr
                  key={t.id}
                  className={cls}
                  data-thread={t.id}
                  onClick={(e) => {
                    // The whole row opens the thread for the mouse; the subject link is the keyboard's way.
                    if (!(e.target instanceof HTMLAnchorElement)) window.location.hash = threadHref(t.id);
                  }}
                >
                  <td>
                    <PrecedenceBadge precedence={r.highest} />
                  </td>
                  <td className="nowrap">{n.direction === 'in' ? `from ${n.from}` : `to ${n.to}`}</td>
                  <td>
                    <a className="subject" href={threadHref(t.id)}>
                      {n.subject === '' ? '(no subject)' : n.subject}
                    </a>
                    {t.notes.length > 1 ? <span className="muted"> · {t.notes.filter((x) => showProtocol || x.kind === 'note').length} notes</span> : null}
                  </td>
                  <td>
                    <Attribution note={n} />
                  </td>
                  <td>{n.category ?? '—'}</td>
                  <td>
                    <time dateTime={formatIso(arrival(n))}>{formatTime(arrival(n))}</time>
                  </td>
                  <td>
                    <Copies note={n} />
                  </td>
                  <td>
                    <Marks note={n} now={now} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}

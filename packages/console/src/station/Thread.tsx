/**
 * A thread: every note of the exchange, oldest first, each with its attribution, its copies per
 * channel, its body as text (React escapes it; never `dangerouslySetInnerHTML`) and its
 * delivery timeline. Opening a thread marks its unread notes read (the station's own read state,
 * without a read receipt).
 */
import { useEffect, useRef } from 'react';
import { apiSend } from '../shared/api.js';
import { formatBytes, formatIso, formatTime } from '../shared/format.js';
import { Attribution, Copies, Marks, PrecedenceBadge, StatusBadge, isUnread } from './marks.js';
import { composeHref } from './routes.js';
import { DeliveryTimeline } from './Timeline.js';
import type { Meta, NoteView, ThreadView } from './types.js';
import { useApi } from './use-api.js';

/** The precedence's objective under the desk's policy (station policy.ts objectiveMs). */
export function objectiveOf(meta: Meta, precedence: string): number | undefined {
  const rule = (meta.policy.rules as Record<string, { objectiveMs: number } | undefined>)[precedence];
  return rule === undefined ? undefined : Math.max(1, Math.round(rule.objectiveMs * meta.policy.timeScale));
}

export function NoteCard(props: { note: NoteView; now: number; meta: Meta | undefined }): React.JSX.Element {
  const n = props.note;
  const headingId = `note-${n.from}-${n.id}`;
  const cls = ['note', n.precedence === 'FLASH' ? 'flash' : '', n.direction === 'out' ? 'out' : ''].filter((x) => x !== '').join(' ');
  return (
    <article className={cls} aria-labelledby={headingId} data-note={n.id}>
      <header className="note-head">
        <PrecedenceBadge precedence={n.precedence} />
        <h2 id={headingId}>{n.subject === '' ? '(no subject)' : n.subject}</h2>
        <StatusBadge status={n.status} />
        <Marks note={n} now={props.now} />
        <span className="spacer" />
        {n.direction === 'in' && n.kind === 'note' ? (
          <a className="button" href={composeHref({ reply: n.id, to: n.from, subject: n.subject.startsWith('Re: ') ? n.subject : `Re: ${n.subject}`, precedence: n.precedence })}>
            Reply
          </a>
        ) : null}
      </header>
      <dl className="note-meta">
        <dt>{n.direction === 'in' ? 'From' : 'To'}</dt>
        <dd>{n.direction === 'in' ? n.from : n.to}</dd>
        <dt>Attribution</dt>
        <dd>
          <Attribution note={n} />
        </dd>
        <dt>Category</dt>
        <dd>{n.category ?? '—'}</dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={formatIso(n.created)}>{formatTime(n.created)}</time>
        </dd>
        <dt>{n.direction === 'in' ? 'Copies' : 'Channels'}</dt>
        <dd>
          <Copies note={n} />
          {n.direction === 'in' ? <span className="muted"> {n.consistent ? '— identical on every channel' : '— the copies disagree'}</span> : null}
        </dd>
        <dt>Digest</dt>
        <dd className="mono">{n.digest.slice(0, 16)}…</dd>
      </dl>
      <pre className="note-body" data-testid="note-body">{n.body}</pre>
      {n.attachments.length === 0 ? null : (
        <div className="note-section">
          <h3 className="visually-hidden">Attachments</h3>
          <ul className="attachments">
            {n.attachments.map((a) => (
              <li key={a.name}>
                📎 {a.name} <span className="muted">({a.type}, {formatBytes(a.size)})</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="note-section">
        <DeliveryTimeline note={n} now={props.now} objectiveMs={props.meta === undefined ? undefined : objectiveOf(props.meta, n.precedence)} />
      </div>
    </article>
  );
}

export function Thread(props: { id: string; version: number }): React.JSX.Element {
  const { data, error } = useApi<ThreadView>(`/api/thread/${encodeURIComponent(props.id)}`, props.version);
  const meta = useApi<Meta>('/api/meta', 0).data;
  const marking = useRef(new Set<string>());
  useEffect(() => {
    if (data === undefined) return;
    for (const n of data.notes.filter(isUnread)) {
      const key = `${n.from}/${n.id}`;
      if (marking.current.has(key)) continue;
      marking.current.add(key);
      apiSend('POST', `/api/note/${encodeURIComponent(n.id)}/read`, { from: n.from }).catch(() => {
        marking.current.delete(key);
      });
    }
  }, [data]);
  const now = Date.now();
  return (
    <main className="page" id="main" tabIndex={-1}>
      <p>
        <a href="#/inbox">← Inbox</a>
      </p>
      {error === undefined ? null : <p className="form-error" role="alert">{error}</p>}
      {data === undefined ? (
        <p className="muted" role="status">Loading…</p>
      ) : (
        <>
          <div className="page-head">
            <h1>{data.subject === '' ? '(no subject)' : data.subject}</h1>
            <p className="muted">
              With {data.party} · {data.notes.length} note{data.notes.length === 1 ? '' : 's'} · {formatTime(data.started_at)} – {formatTime(data.last_at)}
            </p>
          </div>
          {data.notes.map((n) => (
            <NoteCard key={`${n.from}/${n.id}`} note={n} now={now} meta={meta} />
          ))}
        </>
      )}
    </main>
  );
}

/**
 * Compose and reply: recipient party, precedence, category, signer, channels (defaulting to the
 * precedence policy: left untouched, the station's own policy and failover apply), subject,
 * body and attachments. After sending, the note's progress shows live: each channel's
 * submission, delivery and acknowledgement as the event stream reports them.
 */
import { useEffect, useState, type SyntheticEvent } from 'react';
import { ApiError, apiSend } from '../shared/api.js';
import { StatusBadge } from './marks.js';
import { threadHref } from './routes.js';
import { DeliveryTimeline } from './Timeline.js';
import type { Meta, NoteView, SendResult } from './types.js';
import { useApi } from './use-api.js';

interface Draft {
  to: string;
  precedence: string;
  category: string;
  signer: string;
  subject: string;
  body: string;
}

/** The channels the policy picks for a precedence: all, or the first n by rank (station policy.ts). */
export function policyChannels(meta: Meta, precedence: string): string[] {
  const ranked = [...meta.relays].sort((a, b) => a.rank - b.rank).map((r) => r.relay);
  const rule = (meta.policy.rules as Record<string, { channels: 'all' | number } | undefined>)[precedence];
  if (rule === undefined || rule.channels === 'all') return ranked;
  return ranked.slice(0, rule.channels);
}

async function readAttachment(f: File): Promise<{ name: string; type: string; data: string }> {
  const bytes = new Uint8Array(await f.arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { name: f.name, type: f.type === '' ? 'application/octet-stream' : f.type, data: btoa(bin) };
}

export function Compose(props: { version: number; reply: string | undefined; to: string | undefined; subject: string | undefined; precedence: string | undefined }): React.JSX.Element {
  const meta = useApi<Meta>('/api/meta', 0);
  const [draft, setDraft] = useState<Draft>({ to: props.to ?? '', precedence: props.precedence ?? 'ROUTINE', category: 'political', signer: '', subject: props.subject ?? '', body: '' });
  const [via, setVia] = useState<string[] | undefined>(undefined);
  const [files, setFiles] = useState<File[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [sent, setSent] = useState<SendResult | undefined>(undefined);
  const progress = useApi<NoteView>(sent === undefined ? undefined : `/api/note/${encodeURIComponent(sent.id)}`, props.version);
  const m = meta.data;

  useEffect(() => {
    if (m === undefined) return;
    setDraft((d) => ({ ...d, to: d.to === '' ? (m.parties.find((p) => !p.self)?.id ?? '') : d.to, signer: d.signer === '' ? (m.signers[0]?.id ?? '') : d.signer }));
  }, [m]);

  const set = (k: keyof Draft) => (e: { target: { value: string } }) => {
    setDraft((d) => ({ ...d, [k]: e.target.value }));
  };
  const chosen = via ?? (m === undefined ? [] : policyChannels(m, draft.precedence));

  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    setBusy(true);
    setError('');
    (async () => {
      const attachments = await Promise.all(files.map(readAttachment));
      const r = await apiSend<SendResult>('POST', '/api/send', {
        to: draft.to,
        precedence: draft.precedence,
        category: draft.category,
        subject: draft.subject,
        body: draft.body,
        ...(draft.signer === '' ? {} : { signer: draft.signer }),
        ...(via === undefined ? {} : { via }),
        ...(props.reply === undefined ? {} : { replyTo: props.reply }),
        ...(attachments.length === 0 ? {} : { attachments }),
      });
      setSent(r);
    })()
      .catch((err: unknown) => {
        setError(err instanceof ApiError ? err.message : 'The note could not be sent.');
      })
      .finally(() => {
        setBusy(false);
      });
  };

  if (sent !== undefined) {
    const n = progress.data;
    return (
      <main className="page" id="main" tabIndex={-1}>
        <h1>Note sent</h1>
        <section className="panel" aria-live="polite" aria-labelledby="progress-h">
          <h2 id="progress-h">Progress</h2>
          <p className="status-line" data-testid="send-status">
            Status: <StatusBadge status={n?.status ?? 'submitted'} />
          </p>
          <ul className="progress">
            {sent.receipts.map((r) => (
              <li key={`r-${r.relay}`}>✓ {r.relay}: receipt, log index {r.log_index}</li>
            ))}
            {sent.failures.map((f) => (
              <li key={`f-${f.relay}`}>✕ {f.relay}: {f.code} — {f.message}</li>
            ))}
            {(n?.channels ?? []).map((c) => (
              <li key={`c-${c.relay}`} data-channel={c.relay}>
                {c.relay}: {c.acked_at !== null ? 'acknowledged' : c.delivered_at !== null ? 'delivered' : c.submitted_at !== null ? 'submitted' : c.error !== null ? `failed (${c.error.code})` : 'pending'}
              </li>
            ))}
          </ul>
          {n === undefined ? null : <DeliveryTimeline note={n} now={Date.now()} />}
          <p>
            <a href={threadHref(sent.thread)}>Open the thread</a>
          </p>
        </section>
      </main>
    );
  }

  return (
    <main className="page" id="main" tabIndex={-1}>
      <h1>{props.reply === undefined ? 'New note' : 'Reply'}</h1>
      {meta.error === undefined ? null : <p className="form-error" role="alert">{meta.error}</p>}
      <form className="panel" onSubmit={submit} aria-label={props.reply === undefined ? 'New note' : 'Reply'}>
        <div className="form-grid">
          <div>
            <label htmlFor="to">Recipient party</label>
            <select id="to" value={draft.to} onChange={set('to')} required disabled={props.reply !== undefined}>
              {(m?.parties ?? [])
                .filter((p) => !p.self)
                .map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name} ({p.id})
                  </option>
                ))}
            </select>
          </div>
          <div>
            <label htmlFor="precedence">Precedence</label>
            <select id="precedence" value={draft.precedence} onChange={set('precedence')}>
              {(m?.precedences ?? ['FLASH', 'IMMEDIATE', 'PRIORITY', 'ROUTINE']).map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="category">Category</label>
            <select id="category" value={draft.category} onChange={set('category')}>
              {(m?.categories ?? []).map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="signer">Signer</label>
            <select id="signer" value={draft.signer} onChange={set('signer')}>
              {(m?.signers ?? []).map((s) => (
                <option key={s.id} value={s.id}>
                  {s.level === 'official' ? `${s.name}, ${s.title}` : `${s.name} (institutional)`}
                </option>
              ))}
            </select>
          </div>
          <fieldset className="full">
            <legend>Channels</legend>
            <div className="checks">
              {(m?.relays ?? []).map((r) => (
                <label key={r.relay}>
                  <input
                    type="checkbox"
                    name="via"
                    value={r.relay}
                    checked={chosen.includes(r.relay)}
                    onChange={(e) => {
                      const next = e.target.checked ? [...chosen, r.relay] : chosen.filter((x) => x !== r.relay);
                      setVia(next);
                    }}
                  />
                  {r.name} ({r.relay})
                </label>
              ))}
            </div>
            <p className="hint">
              {via === undefined ? `The ${draft.precedence} policy: ${chosen.length === (m?.relays.length ?? 0) ? `every channel (${chosen.join(', ')})` : `${chosen.join(', ') || 'none'}, failing over to the others`}.` : 'Chosen by hand: failover still uses the other channels.'}{' '}
              {via === undefined ? null : (
                <button type="button" onClick={() => { setVia(undefined); }}>
                  Back to the policy
                </button>
              )}
            </p>
          </fieldset>
          <div className="full">
            <label htmlFor="subject">Subject</label>
            <input id="subject" type="text" value={draft.subject} onChange={set('subject')} maxLength={1000} />
          </div>
          <div className="full">
            <label htmlFor="body">Body</label>
            <textarea id="body" value={draft.body} onChange={set('body')} required />
          </div>
          <div className="full">
            <label htmlFor="attachments">Attachments</label>
            <input id="attachments" type="file" multiple onChange={(e) => { setFiles(Array.from(e.target.files ?? [])); }} />
          </div>
        </div>
        {error === '' ? null : (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy || m === undefined || draft.to === '' || (via !== undefined && via.length === 0)}>
            {busy ? 'Sending…' : `Send ${draft.precedence}`}
          </button>
          <a href="#/inbox">Cancel</a>
        </div>
      </form>
    </main>
  );
}

/**
 * Alerts: what the station detected (an invalid copy, equivocation, a drop, a delay, a replay,
 * a fork, a missed deadline…), newest first, each with its evidence as a JSON download that
 * anyone holding the relay's card can re-verify. Resolving keeps the alert and its evidence.
 */
import { useState } from 'react';
import { apiSend } from '../shared/api.js';
import { formatIso, formatTime } from '../shared/format.js';
import { threadHref } from './routes.js';
import type { Alert } from './types.js';
import { useApi } from './use-api.js';

export function Alerts(props: { version: number }): React.JSX.Element {
  const [bump, setBump] = useState(0);
  const [openOnly, setOpenOnly] = useState(false);
  const { data, error } = useApi<Alert[]>('/api/alerts', props.version + bump);
  const alerts = [...(data ?? [])].filter((a) => !openOnly || a.resolvedAt === undefined).sort((a, b) => b.at - a.at);
  const resolve = (id: number): void => {
    void apiSend('POST', `/api/alerts/${String(id)}/resolve`).then(() => {
      setBump((b) => b + 1);
    });
  };
  return (
    <main className="page" id="main" tabIndex={-1}>
      <div className="page-head">
        <h1>Alerts</h1>
        <div className="toolbar">
          <label>
            <input type="checkbox" checked={openOnly} onChange={(e) => { setOpenOnly(e.target.checked); }} /> Open alerts only
          </label>
        </div>
      </div>
      {error === undefined ? null : <p className="form-error" role="alert">{error}</p>}
      {data === undefined ? (
        <p className="muted" role="status">Loading…</p>
      ) : alerts.length === 0 ? (
        <p className="empty">No alerts. Every copy so far verified and agreed.</p>
      ) : (
        <table aria-label="Alerts, newest first">
          <thead>
            <tr>
              <th scope="col">Raised</th>
              <th scope="col">Kind</th>
              <th scope="col">Relay</th>
              <th scope="col">What happened</th>
              <th scope="col">Note</th>
              <th scope="col">Evidence</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => {
              const open = a.resolvedAt === undefined;
              return (
                <tr key={a.id} className={open ? 'alert-row open' : 'alert-row'} data-alert-kind={a.kind}>
                  <td>
                    <time dateTime={formatIso(a.at)}>{formatTime(a.at)}</time>
                  </td>
                  <td>
                    <span className={open ? 'badge bad' : 'badge neutral'}>{a.kind.replace(/_/g, ' ')}</span>
                  </td>
                  <td>{a.relay ?? '—'}</td>
                  <td>{a.message}</td>
                  <td>{a.note === undefined ? '—' : <a href={threadHref(a.note.id)}>{`${a.note.from}/${a.note.id.slice(0, 8)}…`}</a>}</td>
                  <td>
                    <a href={`/api/alerts/${String(a.id)}/evidence`} download={`alert-${String(a.id)}-${a.kind}.json`}>
                      Download JSON
                    </a>
                  </td>
                  <td>
                    {open ? (
                      <button type="button" onClick={() => { resolve(a.id); }}>
                        Mark resolved
                      </button>
                    ) : (
                      <span className="muted">resolved {formatTime(a.resolvedAt)}</span>
                    )}
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

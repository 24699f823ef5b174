/**
 * Channels: each relay's health — last contact, last heartbeat, lag, last error, open alerts —
 * and, from the last log verification (run on demand), each log's verified size, checkpoints
 * and receipts checked, and any problem found.
 */
import { useState } from 'react';
import { ApiError, apiSend } from '../shared/api.js';
import { formatDuration, formatIso, formatTime } from '../shared/format.js';
import type { ChannelsAnswer } from './types.js';
import { useApi } from './use-api.js';

export function Channels(props: { version: number }): React.JSX.Element {
  const [bump, setBump] = useState(0);
  const { data, error } = useApi<ChannelsAnswer>('/api/channels', props.version + bump);
  const [busy, setBusy] = useState(false);
  const [verifyError, setVerifyError] = useState('');
  const verify = (): void => {
    setBusy(true);
    setVerifyError('');
    apiSend('POST', '/api/verify')
      .then(() => {
        setBump((b) => b + 1);
      })
      .catch((e: unknown) => {
        setVerifyError(e instanceof ApiError ? e.message : 'The verification could not run.');
      })
      .finally(() => {
        setBusy(false);
      });
  };
  const verified = data?.verification ?? null;
  return (
    <main className="page" id="main" tabIndex={-1}>
      <div className="page-head">
        <h1>Channels</h1>
        <div className="toolbar">
          <span className="muted" role="status">
            {verified === null ? 'Logs not verified since the console started.' : `Logs verified ${formatTime(verified.at)}.`}
          </span>
          <button type="button" className="primary" onClick={verify} disabled={busy}>
            {busy ? 'Verifying…' : 'Verify logs now'}
          </button>
        </div>
      </div>
      {error === undefined ? null : <p className="form-error" role="alert">{error}</p>}
      {verifyError === '' ? null : <p className="form-error" role="alert">{verifyError}</p>}
      {data === undefined ? (
        <p className="muted" role="status">Loading…</p>
      ) : (
        <table aria-label="Channel health">
          <thead>
            <tr>
              <th scope="col">Relay</th>
              <th scope="col">Last contact</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Lag</th>
              <th scope="col">Log size</th>
              <th scope="col">Last verified checkpoint</th>
              <th scope="col">Health</th>
            </tr>
          </thead>
          <tbody>
            {data.channels.map((c) => {
              const v = verified?.report.relays.find((r) => r.relay === c.relay);
              return (
                <tr key={c.relay} data-relay={c.relay}>
                  <td>
                    <strong>{c.name}</strong> <span className="muted">({c.relay})</span>
                    {c.primary ? <span className="badge neutral"> primary</span> : null}
                    <div className="muted mono">{c.url}</div>
                  </td>
                  <td>
                    <time dateTime={formatIso(c.last_contact)}>{formatTime(c.last_contact)}</time>
                  </td>
                  <td>
                    <time dateTime={formatIso(c.last_heartbeat)}>{formatTime(c.last_heartbeat)}</time>
                  </td>
                  <td className="nowrap">{formatDuration(c.lag_ms)}</td>
                  <td className="nowrap">{v?.size === undefined ? '—' : `${String(v.size)} entries`}</td>
                  <td>
                    {v === undefined ? (
                      <span className="muted">not verified</span>
                    ) : (
                      <>
                        {v.ok ? <span className="badge ok">consistent</span> : <span className="badge bad">problem</span>} <span className="muted">at {formatTime(verified?.at)}; {v.checkpoints} checkpoints, {v.receipts} receipts</span>
                        {v.problems.map((p) => (
                          <div key={p} className="muted">
                            {p}
                          </div>
                        ))}
                      </>
                    )}
                  </td>
                  <td>
                    {c.open_alerts > 0 ? <a className="badge bad" href="#/alerts">{`${String(c.open_alerts)} open alert${c.open_alerts === 1 ? '' : 's'}`}</a> : c.last_error === null ? <span className="badge ok">healthy</span> : null}
                    {c.last_error === null ? null : (
                      <div className="muted">
                        {c.last_error.code} at {formatTime(c.last_error.at)}
                      </div>
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

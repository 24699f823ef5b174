/**
 * The login form both consoles show: one secret (the station passphrase, or the token printed
 * at start-up). A refusal is one sentence in an alert region, read out by screen readers.
 */
import { useState, type SyntheticEvent } from 'react';
import { ApiError, login, type SessionInfo } from './api.js';

export function LoginPage(props: { heading: string; hint: string; onLogin: (s: SessionInfo) => void }): React.JSX.Element {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    setBusy(true);
    setError('');
    login(secret)
      .then((s) => {
        setSecret('');
        props.onLogin(s);
      })
      .catch((err: unknown) => {
        setError(err instanceof ApiError ? err.message : 'The console could not be reached.');
      })
      .finally(() => {
        setBusy(false);
      });
  };
  return (
    <main className="login" id="main">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-heading">
        <p className="brand">Backchannel</p>
        <h1 id="login-heading">{props.heading}</h1>
        <p className="muted">{props.hint}</p>
        <label htmlFor="secret">Passphrase or start-up token</label>
        <input id="secret" name="secret" type="password" autoComplete="current-password" required autoFocus value={secret} onChange={(e) => { setSecret(e.target.value); }} />
        {error === '' ? null : (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || secret === ''}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}

/**
 * The relay operator console: what the relay knows and nothing more — the mandate, traffic
 * volume by pair and precedence over time, queue depth and delivery lag, the log with its
 * witness cosignatures, and the statements published. The relay cannot read a note, so this
 * page never has a subject or a body to show. Live through the admin API's event stream.
 */
import { StrictMode, useCallback, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { AdminLog, AdminMandate, AdminOverview, AdminStatements, AdminTraffic } from '@backchannel/relay';
import { ApiError, get, login, logout, whoami, type Session } from './api.js';
import { bytes, duration, fingerprintLines, plural, time } from './format.js';
import { Legend, PRECEDENCE_ORDER, TrafficChart } from './traffic-chart.js';
import './operator.css';

const WINDOWS = [
  { id: '1h', label: 'Last hour, by minute', spanMs: 3_600_000, bucketMs: 60_000 },
  { id: '6h', label: 'Last 6 hours, by 5 minutes', spanMs: 6 * 3_600_000, bucketMs: 300_000 },
  { id: '24h', label: 'Last 24 hours, by hour', spanMs: 86_400_000, bucketMs: 3_600_000 },
  { id: '7d', label: 'Last 7 days, by 6 hours', spanMs: 7 * 86_400_000, bucketMs: 6 * 3_600_000 },
] as const;
type WindowId = (typeof WINDOWS)[number]['id'];

function trafficQuery(w: (typeof WINDOWS)[number]): string {
  const since = Math.floor((Date.now() - w.spanMs) / w.bucketMs) * w.bucketMs;
  return `since=${since}&bucket=${w.bucketMs}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function Login(props: { onLogin: (s: Session) => void }): React.JSX.Element {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <main className="login">
      <h1>Relay operator console</h1>
      <p>Enter the login token the relay printed when it started (<code>backchannel serve --admin-listen …</code>).</p>
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          setBusy(true);
          setError(undefined);
          login(secret)
            .then(props.onLogin)
            .catch((e: unknown) => {
              setError(message(e));
            })
            .finally(() => {
              setBusy(false);
            });
        }}
      >
        <label htmlFor="token">Login token</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={secret} onChange={(ev) => { setSecret(ev.target.value); }} />
        <button type="submit" disabled={busy || secret.length === 0}>
          Log in
        </button>
        {error === undefined ? null : (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function Card(props: { label: string; value: string; detail?: string; alert?: boolean; testId: string }): React.JSX.Element {
  return (
    <div className={props.alert === true ? 'card alert' : 'card'} data-testid={props.testId}>
      <dt>{props.label}</dt>
      <dd>
        <span className="value">{props.value}</span>
        {props.detail === undefined ? null : <span className="detail">{props.detail}</span>}
      </dd>
    </div>
  );
}

function Overview(props: { o: AdminOverview }): React.JSX.Element {
  const { o } = props;
  const pending = o.pending.reduce((n, p) => n + p.envelopes, 0);
  const cosigned = new Set(o.log.cosignatures.map((c) => c.vkey));
  const witnessDetail = o.witnesses.length === 0 ? 'no witness configured' : `${cosigned.size} of ${o.witnesses.length} cosigned the latest checkpoint`;
  return (
    <section aria-labelledby="overview-h">
      <h2 id="overview-h">Overview</h2>
      <dl className="cards">
        <Card testId="card-log" label="Log size" value={o.log.size.toLocaleString('en')} detail={`checkpoint ${o.log.checkpointSize}, signed ${time(o.log.checkpointSignedAt)}`} />
        <Card testId="card-queue" label="Commit queue" value={o.queueDepth.toLocaleString('en')} detail="records waiting for a group commit" />
        <Card
          testId="card-pending"
          label="Awaiting delivery"
          value={pending.toLocaleString('en')}
          detail={o.pending.length === 0 ? 'every envelope acknowledged' : o.pending.map((p) => `${p.party}: ${p.envelopes}`).join(' · ')}
        />
        <Card
          testId="card-lag"
          label="Delivery lag p50 / p99"
          value={`${duration(o.delivery.p50Ms)} / ${duration(o.delivery.p99Ms)}`}
          detail={`${plural(o.delivery.samples, 'delivery', 'deliveries')} in the last 24 h`}
        />
        <Card
          testId="card-oldest"
          label="Oldest undelivered"
          value={duration(o.delivery.oldestUndeliveredMs)}
          alert={o.delivery.oldestUndeliveredMs !== null && o.delivery.oldestUndeliveredMs > 300_000}
        />
        <Card testId="card-witnesses" label="Witnesses" value={String(o.witnesses.length)} detail={witnessDetail} alert={o.witnesses.length > 0 && cosigned.size === 0} />
        <Card testId="card-uptime" label="Up for" value={duration(o.uptimeMs)} detail={`${plural(o.held.envelopes, 'envelope')} held`} />
      </dl>
    </section>
  );
}

function Fingerprint(props: { fp: string }): React.JSX.Element {
  return (
    <span className="fingerprint" aria-label={`fingerprint ${props.fp}`}>
      {fingerprintLines(props.fp).map((l) => (
        <span key={l} className="fp-line">
          {l}
        </span>
      ))}
    </span>
  );
}

function Mandate(props: { m: AdminMandate }): React.JSX.Element {
  const { m } = props;
  return (
    <section aria-labelledby="mandate-h">
      <h2 id="mandate-h">Mandate</h2>
      <table>
        <caption>Parties this relay serves, and between whom</caption>
        <thead>
          <tr>
            <th scope="col">Party</th>
            <th scope="col">Fingerprint</th>
            <th scope="col">Desks</th>
            <th scope="col">May exchange with</th>
            <th scope="col">Statements</th>
          </tr>
        </thead>
        <tbody>
          {m.parties.map((p) => (
            <tr key={p.id}>
              <th scope="row">
                <span className="party-id">{p.id}</span> <span className="party-name">{p.name}</span>
                <span className="detail">bundle {p.bundleSeq}</span>
              </th>
              <td>
                <Fingerprint fp={p.fingerprint} />
              </td>
              <td>{p.desks}</td>
              <td>
                {m.pairs
                  .filter((x) => x.a === p.id || x.b === p.id)
                  .map((x) => (x.a === p.id ? x.b : x.a))
                  .join(', ') || 'nobody'}
                {p.allow === null ? <span className="detail">any party of the mandate</span> : null}
              </td>
              <td>{p.statements === 'open' ? 'counts, precedence and digests' : p.statements === 'count' ? 'counts only' : 'forbidden'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Traffic(props: { t: AdminTraffic; windowId: WindowId; onWindow: (w: WindowId) => void }): React.JSX.Element {
  const { t } = props;
  const pairs = useMemo(() => [...new Set(t.rows.map((r) => `${r.from}→${r.to}`))].sort(), [t]);
  const [pair, setPair] = useState('all');
  const rows = pair === 'all' ? t.rows : t.rows.filter((r) => `${r.from}→${r.to}` === pair);
  // Totals by direction and precedence over the window: the table beside the chart.
  const totals = new Map<string, { from: string; to: string; precedence: string; envelopes: number; bytes: number }>();
  for (const r of rows) {
    const k = `${r.from}→${r.to} ${r.precedence}`;
    const cur = totals.get(k) ?? { from: r.from, to: r.to, precedence: r.precedence, envelopes: 0, bytes: 0 };
    cur.envelopes += r.envelopes;
    cur.bytes += r.bytes;
    totals.set(k, cur);
  }
  const order = (p: string): number => PRECEDENCE_ORDER.indexOf(p as (typeof PRECEDENCE_ORDER)[number]);
  const list = [...totals.values()].sort((a, b) => `${a.from}→${a.to}`.localeCompare(`${b.from}→${b.to}`) || order(a.precedence) - order(b.precedence));
  return (
    <section aria-labelledby="traffic-h">
      <h2 id="traffic-h">Traffic</h2>
      <p className="note">Volume only, from the envelopes’ clear headers: sender, recipient, precedence and size bucket. The relay cannot read a note.</p>
      <div className="controls">
        <label htmlFor="window">Window</label>
        <select id="window" value={props.windowId} onChange={(ev) => { props.onWindow(ev.target.value as WindowId); }}>
          {WINDOWS.map((w) => (
            <option key={w.id} value={w.id}>
              {w.label}
            </option>
          ))}
        </select>
        <label htmlFor="pair">Direction</label>
        <select id="pair" value={pair} onChange={(ev) => { setPair(ev.target.value); }}>
          <option value="all">All pairs</option>
          {pairs.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        <Legend />
      </div>
      <TrafficChart traffic={t} rows={rows} />
      <table data-testid="traffic-table">
        <caption>Envelopes by direction and precedence in the window</caption>
        <thead>
          <tr>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col">Precedence</th>
            <th scope="col" className="num">
              Envelopes
            </th>
            <th scope="col" className="num">
              Bytes
            </th>
          </tr>
        </thead>
        <tbody>
          {list.length === 0 ? (
            <tr>
              <td colSpan={5}>No envelopes in this window.</td>
            </tr>
          ) : (
            list.map((r) => (
              <tr key={`${r.from}→${r.to} ${r.precedence}`} data-testid={`traffic-${r.from}-${r.to}-${r.precedence}`}>
                <td>{r.from}</td>
                <td>{r.to}</td>
                <td>
                  <span className={`tag prec-${r.precedence}`}>{r.precedence}</span>
                </td>
                <td className="num count">{r.envelopes}</td>
                <td className="num">{bytes(r.bytes)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {t.heldSince === null ? null : <p className="note">Counted from the envelopes still held (since {time(t.heldSince)}); delivered envelopes are deleted after retention.</p>}
    </section>
  );
}

function Log(props: { l: AdminLog }): React.JSX.Element {
  const { l } = props;
  return (
    <section aria-labelledby="log-h">
      <h2 id="log-h">Transparency log</h2>
      <p>
        {plural(l.size, 'leaf', 'leaves')}. Witnesses:{' '}
        {l.witnesses.length === 0 ? 'none' : l.witnesses.map((w) => `${w.name} (last cosigned ${w.lastCosignedSize === null ? 'never' : `size ${w.lastCosignedSize}`})`).join(', ')}
      </p>
      <h3>Latest checkpoint, as published</h3>
      <pre className="note-text" tabIndex={0} aria-label="latest checkpoint">
        {l.checkpoint}
      </pre>
      <table>
        <caption>The ten most recent checkpoints</caption>
        <thead>
          <tr>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col">Signed</th>
            <th scope="col">Root</th>
            <th scope="col">Cosigned by</th>
          </tr>
        </thead>
        <tbody>
          {l.checkpoints.slice(0, 10).map((c) => (
            <tr key={c.size}>
              <td className="num">{c.size}</td>
              <td>{time(c.signedAt)}</td>
              <td>
                <code className="hash">{c.root.slice(0, 16)}…</code>
              </td>
              <td>{c.cosignatures.length === 0 ? '—' : c.cosignatures.map((x) => x.witness).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Statements(props: { s: AdminStatements }): React.JSX.Element {
  return (
    <section aria-labelledby="statements-h">
      <h2 id="statements-h">Statements</h2>
      <p className="note">
        Signed statements this relay handed out (<code>backchannel statement</code>, or a desk of one of the two parties asking): “at least N envelopes passed between these parties”, never what they said.
      </p>
      <table>
        <caption>Statements published</caption>
        <thead>
          <tr>
            <th scope="col">Issued</th>
            <th scope="col">Pair</th>
            <th scope="col">Window</th>
            <th scope="col" className="num">
              At least
            </th>
            <th scope="col">Opened</th>
            <th scope="col">Asked by</th>
          </tr>
        </thead>
        <tbody>
          {props.s.statements.length === 0 ? (
            <tr>
              <td colSpan={6}>No statement published yet.</td>
            </tr>
          ) : (
            props.s.statements.map((s) => (
              <tr key={s.digest}>
                <td>{time(s.issued)}</td>
                <td>{s.pair.join(' and ')}</td>
                <td>
                  {time(s.since)} – {time(s.until)}
                </td>
                <td className="num">{s.count}</td>
                <td>{s.opened.precedence ? 'precedence and digests' : 'counts only'}</td>
                <td>{s.requestedBy}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </section>
  );
}

function Console(props: { session: Session; onLogout: () => void }): React.JSX.Element {
  const [overview, setOverview] = useState<AdminOverview>();
  const [mandate, setMandate] = useState<AdminMandate>();
  const [traffic, setTraffic] = useState<AdminTraffic>();
  const [log, setLog] = useState<AdminLog>();
  const [statements, setStatements] = useState<AdminStatements>();
  const [windowId, setWindowId] = useState<WindowId>('1h');
  const [error, setError] = useState<string | undefined>();
  const [live, setLive] = useState(false);
  const win = WINDOWS.find((w) => w.id === windowId) ?? WINDOWS[0];

  const { onLogout } = props;
  const fail = useCallback(
    (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) onLogout();
      else setError(message(e));
    },
    [onLogout],
  );
  const loadSlow = useCallback(() => {
    get<AdminMandate>('/api/mandate').then(setMandate).catch(fail);
    get<AdminLog>('/api/log').then(setLog).catch(fail);
    get<AdminStatements>('/api/statements').then(setStatements).catch(fail);
  }, [fail]);

  useEffect(() => {
    loadSlow();
  }, [loadSlow]);

  useEffect(() => {
    const q = trafficQuery(win);
    get<AdminOverview>('/api/overview').then(setOverview).catch(fail);
    get<AdminTraffic>(`/api/traffic?${q}`).then(setTraffic).catch(fail);
    const es = new EventSource(`/api/events?${q}`);
    let lastSize = -1;
    es.addEventListener('open', () => {
      setLive(true);
    });
    es.addEventListener('error', () => {
      setLive(false);
    });
    es.addEventListener('overview', (ev) => {
      const o = JSON.parse((ev as MessageEvent<string>).data) as AdminOverview;
      setOverview(o);
      // A commit moved the log: the checkpoint list and statements may have changed too.
      if (o.log.size !== lastSize) {
        lastSize = o.log.size;
        get<AdminLog>('/api/log').then(setLog).catch(fail);
        get<AdminStatements>('/api/statements').then(setStatements).catch(fail);
      }
    });
    es.addEventListener('traffic', (ev) => {
      setTraffic(JSON.parse((ev as MessageEvent<string>).data) as AdminTraffic);
    });
    return () => {
      es.close();
    };
  }, [win, fail]);

  return (
    <>
      <header className="top">
        <h1>{props.session.title}</h1>
        {overview === undefined ? null : (
          <p className="identity">
            <span>{overview.relay.url}</span> · origin <code>{overview.relay.origin}</code> · fingerprint <Fingerprint fp={overview.relay.fingerprint} />
          </p>
        )}
        <p className={live ? 'live on' : 'live'} role="status">
          {live ? 'Live' : 'Connecting…'}
        </p>
        <button
          type="button"
          onClick={() => {
            void logout(props.session.csrf).finally(props.onLogout);
          }}
        >
          Log out
        </button>
      </header>
      <nav aria-label="Sections">
        <a href="#overview-h">Overview</a> <a href="#mandate-h">Mandate</a> <a href="#traffic-h">Traffic</a> <a href="#log-h">Log</a> <a href="#statements-h">Statements</a>
      </nav>
      <main>
        {error === undefined ? null : (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {overview === undefined ? <p>Loading…</p> : <Overview o={overview} />}
        {mandate === undefined ? null : <Mandate m={mandate} />}
        {traffic === undefined ? null : <Traffic t={traffic} windowId={windowId} onWindow={setWindowId} />}
        {log === undefined ? null : <Log l={log} />}
        {statements === undefined ? null : <Statements s={statements} />}
      </main>
    </>
  );
}

function App(): React.JSX.Element {
  const [session, setSession] = useState<Session | undefined | null>(null);
  // Stable, so the console's data effects do not restart on every render.
  const loggedOut = useCallback(() => {
    setSession(undefined);
  }, []);
  useEffect(() => {
    whoami()
      .then(setSession)
      .catch(() => {
        setSession(undefined);
      });
  }, []);
  if (session === null) return <p>Loading…</p>;
  if (session === undefined) return <Login onLogin={setSession} />;
  return <Console session={session} onLogout={loggedOut} />;
}

const root = document.getElementById('root');
if (root !== null)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );

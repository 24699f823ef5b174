/**
 * The station console: login, then the desk's pages under one header. One event stream feeds
 * a version counter; each page refetches what it shows when the counter moves, so arrivals,
 * deliveries, acknowledgements and alerts appear without a reload.
 */
import { useEffect, useState } from 'react';
import { logout, setUnauthenticatedHandler, subscribe, whoami, type SessionInfo } from '../shared/api.js';
import { LoginPage } from '../shared/LoginPage.js';
import { Alerts } from './Alerts.js';
import { Channels } from './Channels.js';
import { Compose } from './Compose.js';
import { Inbox } from './Inbox.js';
import { parseRoute, type Route } from './routes.js';
import { Thread } from './Thread.js';

const EVENTS = ['hello', 'note', 'status', 'channel', 'alert'] as const;

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = (): void => {
      setRoute(parseRoute(window.location.hash));
    };
    window.addEventListener('hashchange', on);
    return () => {
      window.removeEventListener('hashchange', on);
    };
  }, []);
  return route;
}

function NavLink(props: { href: string; current: boolean; children: React.ReactNode }): React.JSX.Element {
  return (
    <li>
      <a href={props.href} aria-current={props.current ? 'page' : undefined}>
        {props.children}
      </a>
    </li>
  );
}

function Desk(props: { session: SessionInfo; onLogout: () => void }): React.JSX.Element {
  const route = useRoute();
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState(false);
  useEffect(
    () =>
      subscribe(
        '/api/events',
        EVENTS,
        () => {
          setVersion((v) => v + 1);
        },
        setLive,
      ),
    [],
  );
  useEffect(() => {
    const main = document.getElementById('main');
    // Move focus to the new page's content so keyboard and screen-reader users land there.
    if (main !== null && document.activeElement === document.body) main.focus({ preventScroll: true });
  }, [route]);
  let page: React.JSX.Element;
  switch (route.page) {
    case 'thread':
      page = <Thread id={route.id} version={version} />;
      break;
    case 'compose':
      page = <Compose key={`${route.reply ?? ''}-${route.to ?? ''}`} version={version} reply={route.reply} to={route.to} subject={route.subject} precedence={route.precedence} />;
      break;
    case 'channels':
      page = <Channels version={version} />;
      break;
    case 'alerts':
      page = <Alerts version={version} />;
      break;
    default:
      page = <Inbox version={version} party={props.session.title} />;
  }
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <p className="brand">Backchannel</p>
        <span className="who">{props.session.title}</span>
        <nav aria-label="Console">
          <ul>
            <NavLink href="#/inbox" current={route.page === 'inbox' || route.page === 'thread'}>
              Inbox
            </NavLink>
            <NavLink href="#/compose" current={route.page === 'compose'}>
              Compose
            </NavLink>
            <NavLink href="#/channels" current={route.page === 'channels'}>
              Channels
            </NavLink>
            <NavLink href="#/alerts" current={route.page === 'alerts'}>
              Alerts
            </NavLink>
          </ul>
        </nav>
        <span className="spacer" />
        <span className={live ? 'live on' : 'live'} role="status" data-testid="live">
          {live ? 'Live' : 'Reconnecting…'}
        </span>
        <button
          type="button"
          onClick={() => {
            void logout().then(props.onLogout);
          }}
        >
          Log out
        </button>
      </header>
      {page}
    </>
  );
}

export function App(): React.JSX.Element {
  const [session, setSession] = useState<SessionInfo | undefined | null>(null);
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setSession(undefined);
    });
    whoami().then(setSession, () => {
      setSession(undefined);
    });
  }, []);
  useEffect(() => {
    document.title = session === null || session === undefined ? 'Backchannel — station console' : `${session.title} — Backchannel`;
  }, [session]);
  if (session === null) return <p className="muted" role="status">Loading…</p>;
  if (session === undefined) return <LoginPage heading="Station console" hint="Log in with the station passphrase, or the token the daemon printed when it started." onLogin={setSession} />;
  return (
    <Desk
      session={session}
      onLogout={() => {
        setSession(undefined);
      }}
    />
  );
}

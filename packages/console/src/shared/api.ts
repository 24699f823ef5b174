/**
 * The browser side of the console's API: login and session (mountConsole's `/session`), and
 * JSON calls under `/api` that carry the session's CSRF token on every state-changing request.
 * The cookie is HttpOnly: this code never sees it; the CSRF token lives only in memory.
 */
export interface SessionInfo {
  kind: 'station' | 'operator';
  title: string;
  csrf: string;
  expiresAt: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
let onUnauthenticated: () => void = () => undefined;

/** Called when any API call finds the session gone (the page goes back to its login). */
export function setUnauthenticatedHandler(f: () => void): void {
  onUnauthenticated = f;
}

async function readError(r: Response): Promise<ApiError> {
  let code = 'http_error';
  let message = `the console answered ${String(r.status)} ${r.statusText}`;
  try {
    const j = (await r.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof j.error?.code === 'string') code = j.error.code;
    if (typeof j.error?.message === 'string') message = j.error.message;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(r.status, code, message);
}

export async function login(secret: string): Promise<SessionInfo> {
  const r = await fetch('/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret }), credentials: 'same-origin' });
  if (!r.ok) throw await readError(r);
  const s = (await r.json()) as SessionInfo;
  csrf = s.csrf;
  return s;
}

/** The current session, or undefined when not logged in. */
export async function whoami(): Promise<SessionInfo | undefined> {
  const r = await fetch('/session', { credentials: 'same-origin' });
  if (r.status === 401) return undefined;
  if (!r.ok) throw await readError(r);
  const s = (await r.json()) as SessionInfo;
  csrf = s.csrf;
  return s;
}

export async function logout(): Promise<void> {
  await fetch('/session', { method: 'DELETE', headers: { 'x-csrf-token': csrf }, credentials: 'same-origin' });
  csrf = '';
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (r.status === 401) {
    onUnauthenticated();
    throw await readError(r);
  }
  if (!r.ok) throw await readError(r);
  if (r.status === 204) return undefined as T;
  return (await r.json()) as T;
}

export function apiGet<T>(path: string): Promise<T> {
  return call<T>('GET', path);
}

export function apiSend<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return call<T>(method, path, body);
}

/**
 * Live updates by Server-Sent Events (`EventSource` sends the cookie; it reconnects by itself).
 * Returns the function that closes the stream.
 */
export function subscribe(path: string, events: readonly string[], onEvent: (name: string, data: unknown) => void, onState?: (open: boolean) => void): () => void {
  const es = new EventSource(path, { withCredentials: true });
  for (const name of events) {
    es.addEventListener(name, (e) => {
      let data: unknown = null;
      try {
        data = JSON.parse((e as MessageEvent<string>).data);
      } catch {
        // A malformed event is ignored; the next one still refreshes the page.
      }
      onEvent(name, data);
    });
  }
  es.onopen = () => onState?.(true);
  es.onerror = () => onState?.(false);
  return () => {
    es.close();
  };
}

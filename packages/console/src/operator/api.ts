/**
 * The operator page's client for the relay's admin API (the relay's own types, imported as
 * types only). Login posts the token to `/session`; the session cookie is HttpOnly, so the page
 * only keeps the CSRF token, which logging out needs (the admin API itself only reads).
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface Session {
  kind: string;
  title: string;
  csrf: string;
}

async function answer<T>(res: Response): Promise<T> {
  if (res.ok) return (await res.json()) as T;
  let code = 'http_error';
  let message = `the relay answered ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON: keep the status line.
  }
  throw new ApiError(res.status, code, message);
}

export async function login(secret: string): Promise<Session> {
  return answer<Session>(await fetch('/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret }), credentials: 'same-origin' }));
}

export async function whoami(): Promise<Session | undefined> {
  const res = await fetch('/session', { credentials: 'same-origin' });
  if (res.status === 401) return undefined;
  return answer<Session>(res);
}

export async function logout(csrf: string): Promise<void> {
  await fetch('/session', { method: 'DELETE', headers: { 'x-csrf-token': csrf }, credentials: 'same-origin' });
}

export async function get<T>(path: string): Promise<T> {
  return answer<T>(await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } }));
}

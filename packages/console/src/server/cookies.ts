/**
 * Just enough cookie handling for one session cookie: parsing the attacker-controlled `Cookie`
 * header strictly (a malformed pair is skipped, never thrown on) and writing `Set-Cookie`.
 */
export const SESSION_COOKIE = 'bc_session';

/** Session ids are 32 random bytes in base64url: anything else is not ours. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export function readSessionCookie(header: string | undefined): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (SESSION_ID.test(value)) return value;
  }
  return undefined;
}

export function sessionCookie(id: string, opts: { secure: boolean; maxAgeS: number }): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${String(opts.maxAgeS)}${opts.secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

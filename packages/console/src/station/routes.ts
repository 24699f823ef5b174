/** Hash routes: the server serves one page, and a reload keeps the view. */
export type Route =
  | { page: 'inbox' }
  | { page: 'thread'; id: string }
  | { page: 'compose'; reply: string | undefined; to: string | undefined; subject: string | undefined; precedence: string | undefined }
  | { page: 'channels' }
  | { page: 'alerts' };

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#/, '');
  const [path = '', query = ''] = h.split('?');
  const q = new URLSearchParams(query);
  const parts = path.split('/').filter((x) => x !== '');
  switch (parts[0]) {
    case 'thread':
      return parts[1] === undefined ? { page: 'inbox' } : { page: 'thread', id: decodeURIComponent(parts[1]) };
    case 'compose':
      return { page: 'compose', reply: q.get('reply') ?? undefined, to: q.get('to') ?? undefined, subject: q.get('subject') ?? undefined, precedence: q.get('precedence') ?? undefined };
    case 'channels':
      return { page: 'channels' };
    case 'alerts':
      return { page: 'alerts' };
    default:
      return { page: 'inbox' };
  }
}

export function threadHref(id: string): string {
  return `#/thread/${encodeURIComponent(id)}`;
}

export function composeHref(opts: { reply?: string; to?: string; subject?: string; precedence?: string } = {}): string {
  const q = new URLSearchParams();
  for (const k of ['reply', 'to', 'subject', 'precedence'] as const) {
    const v = opts[k];
    if (v !== undefined) q.set(k, v);
  }
  const s = q.toString();
  return s === '' ? '#/compose' : `#/compose?${s}`;
}

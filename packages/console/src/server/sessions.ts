/**
 * Sessions held in memory: a console is one process, and a restart logging everyone out is the
 * safe default. Ids and CSRF tokens are 32 random bytes; the CSRF token is compared in constant
 * time. Sessions expire after an idle period and a hard maximum.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  readonly id: string;
  readonly csrf: string;
  readonly createdAt: number;
  lastSeen: number;
}

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
  /** Oldest sessions are dropped beyond this many, so a flood of logins cannot grow memory. */
  maxSessions: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 8 * 3600_000, maxMs: 24 * 3600_000, maxSessions: 256 };

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  constructor(
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  create(): Session {
    const t = this.now();
    const s: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), createdAt: t, lastSeen: t };
    this.#sessions.set(s.id, s);
    while (this.#sessions.size > this.limits.maxSessions) {
      const oldest = this.#sessions.keys().next();
      if (oldest.done === true) break;
      this.#sessions.delete(oldest.value);
    }
    return s;
  }

  /** The live session with this id, touched; an expired one is removed and not returned. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const s = this.#sessions.get(id);
    if (s === undefined) return undefined;
    const t = this.now();
    if (t - s.lastSeen > this.limits.idleMs || t - s.createdAt > this.limits.maxMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    s.lastSeen = t;
    return s;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  get maxAgeS(): number {
    return Math.floor(this.limits.maxMs / 1000);
  }
}

/** Constant-time comparison of two strings of any length (lengths leak, contents do not). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    // Compare anyway so a wrong length costs the same as a wrong byte.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

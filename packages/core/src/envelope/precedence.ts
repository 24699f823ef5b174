/**
 * Precedence, visible to relays on purpose: they serve FLASH first, as military relays do.
 * The cost, stated in docs/protocol.md: precedence leaks crisis bursts even under cover traffic.
 */
import { BackchannelError } from '../errors.js';

export const PRECEDENCES = ['FLASH', 'IMMEDIATE', 'PRIORITY', 'ROUTINE'] as const;
export type Precedence = (typeof PRECEDENCES)[number];

/** Wire code: lower is more urgent, so relays can order queues by it directly. */
export function precedenceCode(p: Precedence): number {
  return PRECEDENCES.indexOf(p);
}

export function precedenceFromCode(code: number): Precedence {
  const p = PRECEDENCES[code];
  if (p === undefined) throw new BackchannelError('schema_invalid', `unknown precedence code ${code}`);
  return p;
}

export function parsePrecedence(s: string): Precedence {
  if (typeof s !== 'string') throw new BackchannelError('schema_invalid', `precedence must be one of ${PRECEDENCES.join(', ')}`);
  const u = s.toUpperCase();
  if (!(PRECEDENCES as readonly string[]).includes(u)) throw new BackchannelError('schema_invalid', `precedence must be one of ${PRECEDENCES.join(', ')}`);
  return u as Precedence;
}

/** Default delivery objectives in milliseconds (PRODUCT.md; the station's policy may override). */
export const DEFAULT_OBJECTIVE_MS: Readonly<Record<Precedence, number>> = {
  FLASH: 5 * 60_000,
  IMMEDIATE: 30 * 60_000,
  PRIORITY: 3 * 3_600_000,
  ROUTINE: 6 * 3_600_000,
};

/**
 * Precedence policy (issue 4, "Precedence policy"; DESIGN.md "The station daemon and
 * failover"): for each precedence, a delivery objective and how many channels a note takes at
 * first. Defaults: FLASH every channel at once within 5 minutes; IMMEDIATE two channels, 30
 * minutes; PRIORITY the primary channel, 3 hours; ROUTINE the primary channel, 6 hours.
 *
 * `timeScale` shrinks the objectives (and hence the half-deadline failover timer) for tests and
 * the demo, so a deadline test takes seconds, not minutes. The one-second FLASH receipt wait is
 * a property of the network, not of the objective, and is not scaled.
 */
import { BackchannelError, DEFAULT_OBJECTIVE_MS, PRECEDENCES, type Precedence } from '@backchannel/core';

/** How many channels a precedence uses at first: every channel, or a number of them (primary first). */
export type ChannelCount = 'all' | number;

export interface PrecedenceRule {
  /** Delivery objective in ms, before time scaling. */
  objectiveMs: number;
  channels: ChannelCount;
}

export interface Policy {
  rules: Readonly<Record<Precedence, PrecedenceRule>>;
  /** Multiplies every objective; 1 in production. */
  timeScale: number;
  /** FLASH fails over when no receipt came within this long (DESIGN.md: one second). */
  flashReceiptMs: number;
  /** `send` returns when every chosen relay answered, or after this long, reporting each. */
  sendTimeoutMs: number;
  /** Every relay request is abandoned after this long, so an unreachable relay never hangs the caller. */
  requestTimeoutMs: number;
}

export const DEFAULT_POLICY: Policy = {
  rules: {
    FLASH: { objectiveMs: DEFAULT_OBJECTIVE_MS.FLASH, channels: 'all' },
    IMMEDIATE: { objectiveMs: DEFAULT_OBJECTIVE_MS.IMMEDIATE, channels: 2 },
    PRIORITY: { objectiveMs: DEFAULT_OBJECTIVE_MS.PRIORITY, channels: 1 },
    ROUTINE: { objectiveMs: DEFAULT_OBJECTIVE_MS.ROUTINE, channels: 1 },
  },
  timeScale: 1,
  flashReceiptMs: 1000,
  sendTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
};

/** A policy from partial overrides, checked: a nonsensical policy is a caller's error, not a runtime surprise. */
export function makePolicy(over: Partial<Omit<Policy, 'rules'>> & { rules?: Partial<Record<Precedence, Partial<PrecedenceRule>>> } = {}): Policy {
  const rules = { ...DEFAULT_POLICY.rules };
  for (const p of PRECEDENCES) {
    const o = over.rules?.[p];
    if (o !== undefined) rules[p] = { ...rules[p], ...o };
  }
  const policy: Policy = {
    rules,
    timeScale: over.timeScale ?? DEFAULT_POLICY.timeScale,
    flashReceiptMs: over.flashReceiptMs ?? DEFAULT_POLICY.flashReceiptMs,
    sendTimeoutMs: over.sendTimeoutMs ?? DEFAULT_POLICY.sendTimeoutMs,
    requestTimeoutMs: over.requestTimeoutMs ?? DEFAULT_POLICY.requestTimeoutMs,
  };
  const problems: string[] = [];
  if (!(policy.timeScale > 0 && policy.timeScale <= 1)) problems.push('timeScale must be in (0, 1]');
  for (const k of ['flashReceiptMs', 'sendTimeoutMs', 'requestTimeoutMs'] as const) {
    if (!Number.isSafeInteger(policy[k]) || policy[k] <= 0) problems.push(`${k} must be a positive integer`);
  }
  for (const p of PRECEDENCES) {
    const r = rules[p];
    if (!Number.isSafeInteger(r.objectiveMs) || r.objectiveMs <= 0) problems.push(`${p} objective must be a positive integer of ms`);
    if (r.channels !== 'all' && (!Number.isSafeInteger(r.channels) || r.channels < 1)) problems.push(`${p} channels must be "all" or at least 1`);
  }
  if (problems.length > 0) throw new BackchannelError('argument_invalid', `invalid precedence policy: ${problems.join('; ')}`, { details: { problems } });
  return policy;
}

/** The objective of a precedence after time scaling, in ms (at least 1). */
export function objectiveMs(policy: Policy, precedence: Precedence): number {
  return Math.max(1, Math.round(policy.rules[precedence].objectiveMs * policy.timeScale));
}

/**
 * The channels a note takes at first and the ones it may fail over to, from the relays in
 * their order of preference (the first is the primary).
 */
export function planChannels(
  policy: Policy,
  precedence: Precedence,
  relays: readonly string[],
  explicit: { via?: readonly string[] | undefined; failover?: readonly string[] | 'none' | undefined },
): { chosen: string[]; failover: string[] } {
  const chosen =
    explicit.via !== undefined && explicit.via.length > 0
      ? [...new Set(explicit.via)]
      : (() => {
          const n = policy.rules[precedence].channels;
          return n === 'all' ? [...relays] : relays.slice(0, n);
        })();
  const failover =
    explicit.failover === 'none' ? [] : [...new Set(explicit.failover ?? relays)].filter((r) => !chosen.includes(r));
  return { chosen, failover };
}

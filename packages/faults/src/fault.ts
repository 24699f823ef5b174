/**
 * What the proxy can do to traffic, by rule. Rules are matched in order against the request's
 * method and path; the first match applies; no match passes traffic through untouched.
 */
export type Fault =
  | { kind: 'pass' }
  /** Swallow the request: it never reaches the relay, and the connection closes with no answer. */
  | { kind: 'drop' }
  /** Reset the connection at once, as a relay that is down. */
  | { kind: 'refuse' }
  /** Hold the request before forwarding it. */
  | { kind: 'delay'; ms: number; jitterMs?: number }
  /** Forward the request twice; answer with the first response. */
  | { kind: 'duplicate' }
  /** In fetch responses, add again items this proxy has already passed (a replaying relay). */
  | { kind: 'replay' }
  /** In fetch responses, reverse the order of the items. */
  | { kind: 'reorder' }
  /** Flip one byte of the response body. */
  | { kind: 'corrupt' }
  /** A compromised relay: alter envelopes it delivers and sign for what it altered (needs the relay's key). */
  | { kind: 'alter' }
  /** Send the response's head and half its body, then cut the connection. */
  | { kind: 'cut' };

export interface Rule {
  /** Method to match (any when absent). */
  method?: string;
  /** Path prefix or pattern to match against the path without query (any when absent). */
  path?: string | RegExp;
  fault: Fault;
  /** Apply to this many matching requests, then stop matching (unlimited when absent). */
  times?: number;
}

export function ruleMatches(rule: Rule, method: string, path: string): boolean {
  if (rule.times !== undefined && rule.times <= 0) return false;
  if (rule.method !== undefined && rule.method !== method) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? path.startsWith(rule.path) : rule.path.test(path);
}

/**
 * One step of a fault schedule (a Jepsen-style nemesis): `afterMs` from the schedule's start,
 * replace the rules, partition, or heal. Steps run in the order of their times.
 */
export type FaultStep =
  | { afterMs: number; rules: Rule[] }
  | { afterMs: number; partition: true }
  | { afterMs: number; heal: true };

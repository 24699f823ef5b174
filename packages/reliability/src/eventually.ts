/** Polls `check` until it holds, or throws after `timeoutMs`: synchronisation by state, never by a fixed sleep. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  let wait = 10;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(250, wait * 2);
  }
}

/** The p-th percentile (0..100) of `xs`, nearest rank; NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

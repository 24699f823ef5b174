/**
 * A small coverage-guided fuzzer (in the manner of libFuzzer and AFL, on V8's block coverage):
 * a corpus starts from the target's seeds; each round mutates corpus entries, runs the
 * mutants, and keeps those that reach blocks of the target's sources no earlier input reached.
 * Every input must be accepted or refused with a typed error; anything else is a crash, and an
 * input that runs longer than `hangMs` is a hang. Both are reported with the input, to become
 * regression vectors.
 *
 * Coverage is read once per batch of mutants (a take costs a few milliseconds); only a batch
 * that reached something new is re-run input by input to find which mutants to keep.
 */
import { BlockCoverage } from './coverage.js';
import { makeRng, mutate } from './mutate.js';
import type { FuzzTarget } from './targets.js';
import { describeThrown, isTypedRejection } from './typed.js';

export interface CampaignOptions {
  /** Stop after this long (default 5 s). */
  seconds?: number;
  /** Or after this many cases, whichever comes first. */
  maxCases?: number;
  /** The mutation generator's seed; a campaign is reproducible from it (coverage aside). */
  seed?: number;
  batch?: number;
  hangMs?: number;
}

export interface Finding {
  kind: 'crash' | 'hang';
  input: string;
  error: string;
}

export interface CampaignResult {
  target: string;
  cases: number;
  accepted: number;
  refused: number;
  corpus: number;
  blocks: number;
  seconds: number;
  findings: Finding[];
}

interface Outcome {
  ok: boolean;
  finding: Finding | undefined;
}

function runOne(target: FuzzTarget, input: Uint8Array, hangMs: number): Outcome {
  const t0 = performance.now();
  let ok = true;
  let finding: Finding | undefined;
  try {
    target.run(input);
  } catch (e) {
    ok = false;
    if (!isTypedRejection(e)) finding = { kind: 'crash', input: Buffer.from(input).toString('hex'), error: describeThrown(e) };
  }
  const ms = performance.now() - t0;
  if (finding === undefined && ms > hangMs) finding = { kind: 'hang', input: Buffer.from(input).toString('hex'), error: `took ${ms.toFixed(0)} ms` };
  return { ok, finding };
}

export async function runCampaign(target: FuzzTarget, opts: CampaignOptions = {}): Promise<CampaignResult> {
  const seconds = opts.seconds ?? 5;
  const maxCases = opts.maxCases ?? Number.POSITIVE_INFINITY;
  const batch = opts.batch ?? 32;
  const hangMs = opts.hangMs ?? 1000;
  const rng = makeRng(opts.seed ?? 1);
  const coverage = await BlockCoverage.start(target.sources);
  const corpus: Uint8Array[] = [];
  const findings: Finding[] = [];
  const seenErrors = new Set<string>();
  let cases = 0;
  let accepted = 0;
  const t0 = performance.now();
  const record = (o: Outcome): void => {
    cases++;
    if (o.ok) accepted++;
    // One finding per distinct error: a fuzzer finds the same bug thousands of times.
    if (o.finding !== undefined && !seenErrors.has(`${o.finding.kind}:${o.finding.error}`)) {
      seenErrors.add(`${o.finding.kind}:${o.finding.error}`);
      findings.push(o.finding);
    }
  };
  try {
    await coverage.take();
    for (const s of target.seeds) {
      record(runOne(target, s, hangMs));
      coverage.merge(await coverage.take());
      corpus.push(s);
    }
    if (corpus.length === 0) corpus.push(new Uint8Array(0));
    const deadline = t0 + seconds * 1000;
    while (performance.now() < deadline && cases < maxCases) {
      const mutants: Uint8Array[] = [];
      for (let i = 0; i < batch && cases < maxCases; i++) {
        // Favour recent entries: they are the ones that just reached new code.
        const pickAt = rng() < 0.5 ? corpus.length - 1 - Math.floor(rng() * Math.min(8, corpus.length)) : Math.floor(rng() * corpus.length);
        const parent = corpus[pickAt]!;
        const other = corpus[Math.floor(rng() * corpus.length)];
        const m = mutate(rng, parent, other);
        mutants.push(m);
        record(runOne(target, m, hangMs));
      }
      const hit = await coverage.take();
      if (!coverage.hasNew(hit)) continue;
      for (const m of mutants) {
        runOne(target, m, hangMs);
        if (coverage.merge(await coverage.take()) > 0) corpus.push(m);
      }
      // What the batch reached that no single re-run reproduced (blocks shared by inputs' effects)
      // is counted too, so the next batch is not re-run for it again.
      coverage.merge(hit);
    }
  } finally {
    await coverage.stop();
  }
  return {
    target: target.name,
    cases,
    accepted,
    refused: cases - accepted,
    corpus: corpus.length,
    blocks: coverage.covered.size,
    seconds: (performance.now() - t0) / 1000,
    findings,
  };
}

/**
 * Block coverage from V8, read through node:inspector (Profiler.startPreciseCoverage with
 * detailed block counts). Each take returns the counts since the last take and resets them,
 * so one take after one input is that input's coverage.
 *
 * V8 reports, per function, its range and the nested block ranges whose count differs from
 * the enclosing one; a block that ran exactly as often as its parent is folded away. So a
 * block's count is the count of the innermost reported range containing it, and "covered"
 * is judged against every block range this process has ever been told about.
 */
import { Session } from 'node:inspector/promises';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  url: string;
  functions: { ranges: Range[] }[];
}

export class BlockCoverage {
  readonly #session = new Session();
  readonly #sources: readonly string[];
  /** Every block range seen, per script URL: "start:end". */
  readonly #known = new Map<string, Map<string, [number, number]>>();
  /** Blocks covered by some input so far: "url|start:end". */
  readonly covered = new Set<string>();

  private constructor(sources: readonly string[]) {
    this.#sources = sources;
  }

  static async start(sources: readonly string[]): Promise<BlockCoverage> {
    const c = new BlockCoverage(sources);
    c.#session.connect();
    await c.#session.post('Profiler.enable');
    await c.#session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    return c;
  }

  /** The blocks of the target's scripts covered since the last take. */
  async take(): Promise<Set<string>> {
    const r = (await this.#session.post('Profiler.takePreciseCoverage')) as unknown as { result: ScriptCoverage[] };
    const hit = new Set<string>();
    for (const script of r.result) {
      if (!this.#sources.some((s) => script.url.includes(s))) continue;
      let known = this.#known.get(script.url);
      if (known === undefined) {
        known = new Map();
        this.#known.set(script.url, known);
      }
      const ranges = script.functions.flatMap((f) => f.ranges);
      for (const rg of ranges) known.set(`${String(rg.startOffset)}:${String(rg.endOffset)}`, [rg.startOffset, rg.endOffset]);
      for (const [key, [start, end]] of known) {
        let best: Range | undefined;
        for (const rg of ranges) {
          if (rg.startOffset <= start && rg.endOffset >= end && (best === undefined || rg.endOffset - rg.startOffset < best.endOffset - best.startOffset)) best = rg;
        }
        if (best !== undefined && best.count > 0) hit.add(`${script.url}|${key}`);
      }
    }
    return hit;
  }

  /** Adds `hit` to what is covered; returns how many blocks were new. */
  merge(hit: ReadonlySet<string>): number {
    let fresh = 0;
    for (const k of hit) {
      if (!this.covered.has(k)) {
        this.covered.add(k);
        fresh++;
      }
    }
    return fresh;
  }

  hasNew(hit: ReadonlySet<string>): boolean {
    for (const k of hit) if (!this.covered.has(k)) return true;
    return false;
  }

  async stop(): Promise<void> {
    await this.#session.post('Profiler.stopPreciseCoverage');
    await this.#session.post('Profiler.disable');
    this.#session.disconnect();
  }
}

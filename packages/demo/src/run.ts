/**
 * runDemo: builds the temporary world, plays the six steps of the reference story, reports,
 * and (unless `exit` or `json`) keeps the world running until `signal` aborts. It always removes
 * every process and temporary file it created, also on error and on abort.
 */
import type { DemoReport, NoteFigure } from './report.js';
import { Story } from './story.js';
import { World } from './world.js';

export interface DemoOptions {
  /** Print nothing while playing (the caller prints the report as one JSON document). */
  json: boolean;
  /** Clean up and return after the summary instead of keeping the world running. */
  exit: boolean;
  /** Multiplies the precedence objectives (default 1: FLASH 5 minutes). */
  timeScale?: number;
  /** Where timeline lines go; default stdout. Never called when `json`. */
  out?: (line: string) => void;
  /** Aborting interrupts the story, or ends the running world; everything is cleaned up. */
  signal?: AbortSignal;
}

const ms = (n: number | null): string => (n === null ? '—' : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(2)} s`);

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const started = Date.now();
  const timeScale = options.timeScale ?? 1;
  const write = options.out ?? ((l: string) => {
    process.stdout.write(`${l}\n`);
  });
  const line = (text: string): void => {
    if (options.json) return;
    const t = ((Date.now() - started) / 1000).toFixed(3).padStart(7);
    write(text === '' ? '' : `+${t}s ${text}`);
  };
  const report: DemoReport = {
    passed: false,
    started_at: started,
    duration_ms: 0,
    time_scale: timeScale,
    world: { dir: '', relays: [], parties: [], witness: '' },
    steps: [],
    summary: { notes: 0, flash_notes: [], alerts: [] },
  };
  let world: World | undefined;
  try {
    line('Backchannel — the reference story, live on loopback');
    world = await World.create({ timeScale, signal: options.signal, onTimer: (p, what) => {
        line(`  ⏱ ${p}'s timers: ${what}`);
      } });
    report.world = {
      dir: world.dir,
      relays: [...world.relays.values()].map((r) => ({ id: r.id, name: r.name, url: r.url, direct_url: r.directUrl, pid: r.pid, origin: r.origin, fingerprint: r.card.fingerprint })),
      parties: [...world.parties.values()].map((p) => ({ id: p.id, name: p.name, fingerprint: p.card.fingerprint })),
      witness: world.witnessVkey,
    };
    line(`world: ${world.dir}`);
    for (const r of report.world.relays) line(`  relay ${r.id} (${r.name}): process ${r.pid} at ${r.direct_url}, reached through its fault proxy ${r.url}; fingerprint ${r.fingerprint}`);
    line(`  om also witnesses ch's log: ${world.witnessVkey}`);
    for (const p of report.world.parties) line(`  party ${p.id} (${p.name}): fingerprint ${p.fingerprint} — pinned by the other side, fingerprint checked`);
    const story = new Story(world, { line }, options.signal);
    report.steps = await story.play();
    const notes: (NoteFigure & { step: number })[] = report.steps.flatMap((s) => s.notes.map((n) => ({ ...n, step: s.step })));
    report.summary = {
      notes: notes.length,
      flash_notes: notes.filter((n) => n.precedence === 'FLASH').map((n) => ({ id: n.id, step: n.step, objective_ms: n.objective_ms, first_arrival_ms: n.first_arrival_ms, within_objective: n.within_objective })),
      alerts: report.steps.flatMap((s) => s.alerts),
    };
    report.passed = report.steps.length === 6 && report.steps.every((s) => s.passed);
    report.duration_ms = Date.now() - started;
    line('');
    line('SUMMARY');
    for (const s of report.steps) line(`  step ${s.step} ${s.passed ? 'passed' : 'FAILED'} (${ms(s.duration_ms)}): ${s.title}`);
    for (const f of report.summary.flash_notes) line(`  FLASH note of step ${f.step}: at the recipient after ${ms(f.first_arrival_ms)}, objective ${ms(f.objective_ms)}`);
    line(`  ${report.summary.alerts.length} alert(s): ${report.summary.alerts.map((a) => `${a.kind}@${a.relay ?? a.party ?? '?'} (raised by ${a.station})`).join(', ') || 'none'}`);
    line(`  ${report.passed ? 'EVERY STEP PASSED' : 'SOME STEPS FAILED'} in ${ms(report.duration_ms)}`);
    if (!options.exit && !options.json && options.signal?.aborted !== true) {
      line('');
      line('The world keeps running (Ctrl-C to stop and clean up):');
      for (const r of report.world.relays) line(`  ${r.id}: ${r.url}  (relay process ${r.pid}, direct ${r.direct_url})`);
      await new Promise<void>((resolve) => {
        if (options.signal === undefined) return; // runs until the process is stopped
        if (options.signal.aborted) resolve();
        options.signal.addEventListener('abort', () => {
          resolve();
        }, { once: true });
      });
    }
  } catch (e) {
    report.error = e instanceof Error ? e.message : String(e);
    report.passed = false;
    line(`the demo failed: ${report.error}`);
  } finally {
    if (world !== undefined) {
      line('cleaning up: stopping the relays, removing the temporary world');
      await world.close();
    }
    report.duration_ms = Date.now() - started;
  }
  return report;
}

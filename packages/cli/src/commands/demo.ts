/**
 * `backchannel demo [--json] [--exit] [--time-scale X]` — plays the reference story (PRODUCT.md)
 * on loopback: three relay processes, two desks, a rogue relay and an outage staged by fault
 * proxies. Without --json or --exit the world keeps running until Ctrl-C, then everything it
 * started is stopped and removed. Exit 0 only if every step passed.
 */
import type { Command } from 'commander';
import { runDemo } from '@backchannel/demo';
import { CodedError, EXIT } from '../errors.js';
import { parseTimeScale } from '../flags.js';
import { flagOption, optionsOf, stringOption, type Context } from '../context.js';
import { write } from '../output.js';

export function registerDemo(program: Command, ctx: Context): void {
  program
    .command('demo')
    .description('run the reference story on loopback and report it')
    .option('--json', 'print one JSON report: {"passed", "steps": [{"step", "passed", …}]}')
    .option('--exit', 'stop when the story is over instead of keeping the world running')
    .option('--time-scale <x>', 'scale the delivery objectives (default 1)')
    .action(async (...args: unknown[]) => {
      const o = optionsOf(args);
      const json = flagOption(o, 'json');
      const scale = stringOption(o, 'timeScale');
      const timeScale = scale === undefined ? undefined : parseTimeScale(scale);
      const controller = new AbortController();
      let interrupts = 0;
      const onSignal = (): void => {
        interrupts++;
        // A second Ctrl-C means: stop waiting for the cleanup.
        if (interrupts > 1) process.exit(130);
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const report = await runDemo({
          json,
          exit: flagOption(o, 'exit'),
          signal: controller.signal,
          out: (line) => {
            void write(ctx.io.stdout, `${line}\n`);
          },
          ...(timeScale === undefined ? {} : { timeScale }),
        });
        if (json) await ctx.out.raw(JSON.stringify(report, null, 2));
        if (!report.passed) throw new CodedError('demo_failed', 'a step of the reference story failed; the report says which', EXIT.failed);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

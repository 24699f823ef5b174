/**
 * A tiny command for the demo until the CLI's `backchannel demo` calls runDemo:
 * `node --import tsx packages/demo/src/bin.ts [--json] [--exit] [--time-scale X]`.
 * Exit status 0 only if every step passed; 2 on bad usage.
 */
import { runDemo } from './run.js';

const args = process.argv.slice(2);
let json = false;
let exit = false;
let timeScale: number | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--json') json = true;
  else if (a === '--exit') exit = true;
  else if (a === '--time-scale') {
    timeScale = Number(args[++i]);
    if (!(timeScale > 0)) {
      process.stderr.write('--time-scale takes a positive number\n');
      process.exit(2);
    }
  } else {
    process.stderr.write(`unknown option ${a ?? ''}; usage: demo [--json] [--exit] [--time-scale X]\n`);
    process.exit(2);
  }
}

const controller = new AbortController();
let interrupts = 0;
for (const s of ['SIGINT', 'SIGTERM'] as const) {
  process.on(s, () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort();
  });
}

const report = await runDemo({ json, exit, signal: controller.signal, ...(timeScale === undefined ? {} : { timeScale }) });
if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exitCode = report.passed ? 0 : 1;

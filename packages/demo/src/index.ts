/**
 * @backchannel/demo — the reference story (PRODUCT.md, issue 5) played live on loopback:
 * `backchannel demo [--json] [--exit]` calls `runDemo`. Explicit named exports only.
 */
export { runDemo, type DemoOptions } from './run.js';
export type { AlertFigure, ChannelFigure, Check, CopyFigure, DemoReport, NoteFigure, StatementFigure, StepReport, WitnessFigure } from './report.js';

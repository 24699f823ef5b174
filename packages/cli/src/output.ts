/**
 * Where the command line writes. Results go to standard output (JSON with --json); errors,
 * warnings and progress go to standard error. Colour and progress only on a terminal, and
 * never when NO_COLOR is set (https://no-color.org), so pipes and scripts see plain text.
 */
import type { ErrorReport } from './errors.js';

/** The process's streams and environment, injected so the program can run in tests. */
export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export type Style = 'bold' | 'red' | 'green' | 'yellow' | 'dim';
const SGR: Record<Style, [number, number]> = { bold: [1, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], dim: [2, 22] };

export class Output {
  readonly json: boolean;
  readonly #io: Io;
  readonly #colourOut: boolean;
  readonly #colourErr: boolean;

  constructor(io: Io, json: boolean) {
    this.#io = io;
    this.json = json;
    const noColour = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '';
    this.#colourOut = !noColour && io.stdout.isTTY === true;
    this.#colourErr = !noColour && io.stderr.isTTY === true;
  }

  /** Styles text for standard output when it is a terminal. */
  style(s: Style, text: string): string {
    return this.#colourOut ? paint(s, text) : text;
  }

  /** The command's result: `human` text, or `data` as one line of JSON with --json. */
  async result(human: string, data: unknown): Promise<void> {
    await write(this.#io.stdout, this.json ? `${JSON.stringify(data)}\n` : ensureNewline(human));
  }

  /** Output that is the same with or without --json (a card is JSON either way). */
  async raw(text: string): Promise<void> {
    await write(this.#io.stdout, ensureNewline(text));
  }

  /** Progress for long work: only for a person at a terminal, never in --json mode. */
  progress(text: string): void {
    if (this.json || this.#io.stderr.isTTY !== true) return;
    this.#io.stderr.write(`${this.#colourErr ? paint('dim', text) : text}\n`);
  }

  warn(message: string): void {
    if (this.json) this.#io.stderr.write(`${JSON.stringify({ warning: { message } })}\n`);
    else this.#io.stderr.write(`${this.#colourErr ? paint('yellow', 'warning:') : 'warning:'} ${message}\n`);
  }

  async error(report: ErrorReport, debug: string | undefined): Promise<void> {
    const line = this.json
      ? JSON.stringify({ error: { code: report.code, message: report.message } })
      : `${this.#colourErr ? paint('red', 'backchannel:') : 'backchannel:'} ${report.message}`;
    await write(this.#io.stderr, `${line}\n${debug === undefined ? '' : `${debug}\n`}`);
  }
}

function paint(s: Style, text: string): string {
  const [on, off] = SGR[s];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Resolves once the text is handed to the operating system, so exiting cannot cut it off. */
export function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => {
      resolve();
    });
  });
}

/** Binary output (a statement or an archive on standard output), flushed like `write`. */
export function writeBytes(stream: NodeJS.WritableStream, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    stream.write(bytes, () => {
      resolve();
    });
  });
}

/**
 * Passphrases: from the environment (BACKCHANNEL_PASSPHRASE, and BACKCHANNEL_ROOT_PASSPHRASE
 * for the root key, which has its own), or typed at a prompt on a terminal with no echo.
 * Without either there is no one to ask: that is a usage error (exit 2), never a hang on a
 * pipe. A passphrase is never printed, logged or put in an error message.
 */
import { CliError } from './errors.js';
import type { Io } from './output.js';

export type PassphraseKind = 'station' | 'root' | 'relay';

const ENV: Record<PassphraseKind, string> = {
  station: 'BACKCHANNEL_PASSPHRASE',
  relay: 'BACKCHANNEL_PASSPHRASE',
  root: 'BACKCHANNEL_ROOT_PASSPHRASE',
};

const PROMPT: Record<PassphraseKind, string> = {
  station: 'Passphrase for the station keys',
  relay: 'Passphrase for the relay log key',
  root: 'Passphrase for the ROOT key (its own, not the station passphrase)',
};

export function passphraseEnvVar(kind: PassphraseKind): string {
  return ENV[kind];
}

/**
 * Gets a passphrase. `confirm` (when creating keys) asks twice at a prompt, since a typo would
 * lock the keys away for good.
 */
export async function getPassphrase(io: Io, kind: PassphraseKind, opts: { confirm: boolean }): Promise<string> {
  const name = ENV[kind];
  const fromEnv = io.env[name];
  if (fromEnv !== undefined) {
    if (fromEnv.length === 0) throw new CliError('passphrase_required', `${name} is set but empty, and an empty passphrase protects nothing`);
    return fromEnv;
  }
  if (io.stdin.isTTY !== true || typeof io.stdin.setRawMode !== 'function') {
    throw new CliError('passphrase_required', `no passphrase: set ${name}, or run in a terminal to be asked for it`);
  }
  const first = await promptHidden(io, `${PROMPT[kind]}: `);
  if (first.length === 0) throw new CliError('passphrase_required', 'an empty passphrase protects nothing');
  if (opts.confirm) {
    const again = await promptHidden(io, `${PROMPT[kind]} (again): `);
    if (again !== first) throw new CliError('passphrase_mismatch', 'the two passphrases differ; nothing was created');
  }
  return first;
}

/** Reads one line from the terminal in raw mode, so nothing typed is echoed. */
function promptHidden(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin;
  const setRaw = stdin.setRawMode?.bind(stdin);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error: CliError | undefined): void => {
      stdin.removeListener('data', onData);
      setRaw?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (error === undefined) resolve(value);
      else reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || (ch === '\u0004' && value.length > 0)) {
          finish(undefined);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish(new CliError('cancelled', 'cancelled at the passphrase prompt; nothing was changed'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    // Echo goes off before the prompt appears, so nothing typed after seeing it is echoed.
    setRaw?.(true);
    io.stderr.write(prompt);
    stdin.on('data', onData);
    stdin.resume();
  });
}

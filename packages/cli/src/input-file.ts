/**
 * Reading a file a user names on the command line, or standard input for "-": bounded, since
 * what comes in (a card from another party, a note's body) is not ours to trust with memory.
 */
import { readFile } from 'node:fs/promises';
import { CliError } from './errors.js';
import type { Io } from './output.js';

/**
 * `what` names the input in messages ("body", "card"); `tooLarge` builds the error for an
 * input over `max` bytes (each caller has its own code and sentence for it).
 */
export async function readInputFile(io: Io, path: string, what: string, max: number, tooLarge: (where: string) => Error): Promise<Buffer> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of io.stdin) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > max) throw tooLarge(`the ${what} on standard input`);
      chunks.push(b);
    }
    return Buffer.concat(chunks);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const errno = (e as { code?: unknown }).code;
    if (errno === 'ENOENT') throw new CliError('file_not_found', `the ${what} file ${path} does not exist`, { cause: e });
    if (errno === 'EISDIR') throw new CliError('file_not_found', `the ${what} file ${path} is a folder`, { cause: e });
    throw e;
  }
  if (bytes.length > max) throw tooLarge(`the ${what} file ${path}`);
  return bytes;
}

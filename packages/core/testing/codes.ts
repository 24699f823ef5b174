/** Test helpers for asserting typed errors by code (STYLE.md §5). */
import { isBackchannelError } from '../src/errors.js';

/** The BackchannelError code `f` throws, 'untyped' for any other exception, undefined if it returns. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isBackchannelError(e) ? e.code : 'untyped';
  }
  return undefined;
}

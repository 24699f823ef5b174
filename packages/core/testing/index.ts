/**
 * @backchannel/core/testing — helpers for tests of code built on the core: an in-memory
 * transparency log and a typed-error assertion helper. Not for production use.
 */
export { MemoryLog } from './memory-log.js';
export { codeOf } from './codes.js';

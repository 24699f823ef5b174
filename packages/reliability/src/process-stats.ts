/** Memory of another process, read from Linux's /proc (the relay under test runs as a child). */
import { readFileSync } from 'node:fs';

/** Resident set size of `pid` in bytes; undefined where /proc is not available. */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

export const MiB = 1024 * 1024;

/**
 * Where the shared vectors live: the repository is cloned with `shared/` as a sibling, so
 * they are at <repo root>/../shared/vectors/tlog. Test helper, not a test.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');

export const TLOG_VECTORS = path.resolve(repoRoot, '../shared/vectors/tlog');

export function readJson(...parts: string[]): unknown {
  return JSON.parse(readFileSync(path.join(TLOG_VECTORS, ...parts), 'utf8')) as unknown;
}

/** Every .json file under `dir` (relative to TLOG_VECTORS), recursively, as sorted relative paths. */
export function listJson(dir: string): string[] {
  const entries = readdirSync(path.join(TLOG_VECTORS, dir), { recursive: true, encoding: 'utf8' });
  return entries
    .filter((e) => e.endsWith('.json'))
    .map((e) => path.join(dir, e))
    .sort();
}

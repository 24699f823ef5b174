/**
 * C2SP tlog-tiles: the log's Merkle tree and entries served as static, cacheable "tiles".
 *
 * Hash tile `tile/<L>/<N>[.p/<W>]` holds the hashes of the perfect nodes at tree level 8·L,
 * indexes N·256 … N·256 + W − 1 (W = 256 for a full tile), 32 bytes each, concatenated: in
 * RFC 9162 terms MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L]) for i < W. Entry bundle
 * `tile/entries/<N>[.p/<W>]` holds leaves N·256 … N·256 + W − 1, each prefixed with its length
 * as a big-endian uint16. A tree of size s has floor(s / 256^L) hashes at level 8·L; the
 * rightmost tile of each level is partial when that count is not a multiple of 256.
 *
 * Tile paths arrive in HTTP requests (attacker-controlled): parseTilePath accepts only the
 * one canonical spelling of each tile, so that distinct strings never name the same resource
 * (cache poisoning, bypassed rate limits) and nothing unbounded reaches the store.
 */
import { BackchannelError } from '../errors.js';
import { assertTreeIndex } from './bits.js';
import { HASH_SIZE } from './hasher.js';

/** Tree levels per tile: a tile is a subtree of height 8. */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile, entries in a full bundle. */
export const TILE_WIDTH = 256;
/** Highest tile level the spec allows. */
export const MAX_TILE_LEVEL = 63;
const MAX_ENTRY_SIZE = 0xffff;

export interface HashTile {
  readonly kind: 'hash';
  /** Tile level L: its hashes are the nodes at tree level 8·L. */
  readonly level: number;
  /** Tile index N within its level. */
  readonly index: number;
  /** Number of hashes, 1 … 256; 256 is a full tile, anything less a partial (`.p/W`) one. */
  readonly width: number;
}

export interface EntryBundle {
  readonly kind: 'entries';
  readonly index: number;
  /** Number of entries, 1 … 256; 256 is a full bundle. */
  readonly width: number;
}

export type Tile = HashTile | EntryBundle;

/** The hash tiles of one level for a tree size: tiles 0 … fullTiles − 1, then a partial one if partialWidth > 0. */
export interface TileLevel {
  readonly level: number;
  readonly fullTiles: number;
  readonly partialWidth: number;
}

// <L> is "entries" or 0 … 99 without leading zeroes (range checked after), <N> is 3-digit
// groups, all but the last starting with "x" (at most six groups: 18 digits ≥ 2^53), <W> is
// 1 … 999 without leading zeroes (range checked after). No quantifier can backtrack much.
const TILE_PATH_RE = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/){0,5}[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/** `<N>` of a tile path: 1234067 → `x001/x234/067`. */
export function formatTileIndex(index: number): string {
  assertTreeIndex(index, 'tile index');
  let digits = String(index);
  digits = '0'.repeat((3 - (digits.length % 3)) % 3) + digits;
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3));
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The canonical path of a tile, relative to the log prefix: `tile/0/x001/234.p/5`, `tile/entries/000`. */
export function tilePath(tile: Tile): string {
  checkTile(tile);
  const level = tile.kind === 'entries' ? 'entries' : String(tile.level);
  const partial = tile.width < TILE_WIDTH ? `.p/${tile.width}` : '';
  return `tile/${level}/${formatTileIndex(tile.index)}${partial}`;
}

/**
 * Parses a tile path relative to the log prefix (attacker-controlled). Accepts only canonical
 * paths: level 0 … 63 and width 1 … 255 without leading zeroes, index groups of exactly three
 * digits with no leading all-zero group, and an index whose hashes or leaves are addressable
 * (below 2^53). Throws 'tile_invalid', listing every problem found.
 */
export function parseTilePath(path: string): Tile {
  if (typeof path !== 'string') throw new BackchannelError('tile_invalid', 'a tile path is a string', { details: { problems: ['type'] } });
  const m = TILE_PATH_RE.exec(path);
  if (m === null) {
    throw new BackchannelError('tile_invalid', 'not a tile path', { details: { problems: ['syntax'] } });
  }
  const levelText = m[1]!;
  const indexText = m[2]!;
  const widthText = m[3];
  const problems: string[] = [];
  const level = levelText === 'entries' ? -1 : Number(levelText);
  if (level > MAX_TILE_LEVEL) problems.push(`level ${level} is above ${MAX_TILE_LEVEL}`);
  const groups = indexText.split('/');
  if (groups.length > 1 && groups[0] === 'x000') problems.push('index has a leading zero group');
  const index = Number(groups.map((g) => g.replace('x', '')).join(''));
  // The last hash or leaf of the tile, N·256 + 255, must be a safe integer.
  if (!Number.isSafeInteger(index * TILE_WIDTH + TILE_WIDTH - 1)) problems.push('index is too large');
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && width >= TILE_WIDTH) problems.push(`partial width ${width} is not below ${TILE_WIDTH}`);
  if (problems.length > 0) {
    throw new BackchannelError('tile_invalid', `non-canonical tile path: ${problems.join('; ')}`, { details: { problems } });
  }
  return level === -1 ? { kind: 'entries', index, width } : { kind: 'hash', level, index, width };
}

/** The hash tiles that exist for a tree of `size` leaves, by level, lowest first (none for size 0). */
export function tilesForSize(size: number): TileLevel[] {
  assertTreeIndex(size, 'size');
  const out: TileLevel[] = [];
  for (let level = 0; ; level++) {
    const count = hashesAtTileLevel(size, level);
    if (count === 0) return out;
    out.push({ level, fullTiles: Math.floor(count / TILE_WIDTH), partialWidth: count % TILE_WIDTH });
  }
}

/**
 * Whether the tree of `size` leaves determines the whole content of `tile`, so it may be
 * served. A partial tile is also accepted when the full tile exists (its content is a prefix).
 * Entry bundles follow level 0.
 */
export function tileInTree(tile: Tile, size: number): boolean {
  checkTile(tile);
  assertTreeIndex(size, 'size');
  const count = hashesAtTileLevel(size, tile.kind === 'entries' ? 0 : tile.level);
  // index·256 + width ≤ count, written so no product can leave the safe integers.
  const full = Math.floor(count / TILE_WIDTH);
  return tile.index < full || (tile.index === full && tile.width <= count % TILE_WIDTH);
}

/** The stored nodes whose hashes, in order, make up a hash tile: level 8·L, indexes [begin, end). */
export function tileNodeRange(tile: HashTile): { level: number; begin: number; end: number } {
  checkTile(tile);
  const begin = tile.index * TILE_WIDTH;
  return { level: tile.level * TILE_HEIGHT, begin, end: begin + tile.width };
}

/** The leaf indexes [begin, end) an entry bundle holds. */
export function entryBundleRange(bundle: EntryBundle): { begin: number; end: number } {
  checkTile(bundle);
  const begin = bundle.index * TILE_WIDTH;
  return { begin, end: begin + bundle.width };
}

/** The bytes of a hash tile: its 1 … 256 node hashes concatenated. */
export function encodeTile(hashes: readonly Uint8Array[]): Uint8Array {
  checkWidth(hashes.length);
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  hashes.forEach((h, i) => {
    if (h.length !== HASH_SIZE) throw new BackchannelError('argument_invalid', `tile hash ${i} has ${h.length} bytes`);
    out.set(h, i * HASH_SIZE);
  });
  return out;
}

/** Splits a fetched hash tile (attacker-controlled) of `width` hashes. Throws 'tile_invalid' on a wrong length. */
export function decodeTile(bytes: Uint8Array, width: number): Uint8Array[] {
  checkWidth(width);
  if (bytes.length !== width * HASH_SIZE) {
    throw new BackchannelError('tile_invalid', `a tile of width ${width} has ${width * HASH_SIZE} bytes, got ${bytes.length}`, {
      details: { expected: width * HASH_SIZE, actual: bytes.length },
    });
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < width; i++) out.push(bytes.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}

/** The bytes of an entry bundle: each of its 1 … 256 entries as uint16 big-endian length || entry. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  checkWidth(entries.length);
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_SIZE) throw new BackchannelError('argument_invalid', `an entry of ${e.length} bytes does not fit a bundle`);
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const e of entries) {
    out[off] = e.length >>> 8;
    out[off + 1] = e.length & 0xff;
    out.set(e, off + 2);
    off += 2 + e.length;
  }
  return out;
}

/**
 * Splits a fetched entry bundle (attacker-controlled) that must hold exactly `width` entries
 * and nothing after them. Throws 'tile_invalid'.
 */
export function decodeEntryBundle(bytes: Uint8Array, width: number): Uint8Array[] {
  checkWidth(width);
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (out.length === width) throw bundleError(`bytes after the ${width} entries`);
    if (off + 2 > bytes.length) throw bundleError('truncated entry length');
    const len = (bytes[off]! << 8) | bytes[off + 1]!;
    if (off + 2 + len > bytes.length) throw bundleError('truncated entry');
    out.push(bytes.slice(off + 2, off + 2 + len));
    off += 2 + len;
  }
  if (out.length !== width) throw bundleError(`${out.length} entries, expected ${width}`);
  return out;
}

/** Hashes at tree level 8·level in a tree of `size` leaves: floor(size / 256^level). */
function hashesAtTileLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

function checkWidth(width: number): void {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new BackchannelError('argument_invalid', `tile width ${width} is not 1 … ${TILE_WIDTH}`);
  }
}

/** Rejects a Tile value no canonical path can name (a caller bug, not attacker input). */
function checkTile(tile: Tile): void {
  checkWidth(tile.width);
  if (tile.kind === 'hash' && !(Number.isInteger(tile.level) && tile.level >= 0 && tile.level <= MAX_TILE_LEVEL)) {
    throw new BackchannelError('argument_invalid', `tile level ${tile.level} is not 0 … ${MAX_TILE_LEVEL}`);
  }
  assertTreeIndex(tile.index, 'tile index');
  if (!Number.isSafeInteger(tile.index * TILE_WIDTH + TILE_WIDTH - 1)) {
    throw new BackchannelError('index_out_of_range', 'tile index beyond 2^53 / 256', { details: { index: tile.index } });
  }
}

function bundleError(problem: string): BackchannelError {
  return new BackchannelError('tile_invalid', `malformed entry bundle: ${problem}`, { details: { problem } });
}

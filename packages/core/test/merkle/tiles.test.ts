/** C2SP tlog-tiles: tlog-tiles-vectors.json, a round trip, and the strict path parser. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex, utf8 } from '../../src/bytes.js';
import { isBackchannelError } from '../../src/errors.js';
import { hashLeaf } from '../../src/merkle/hasher.js';
import {
  decodeEntryBundle,
  decodeTile,
  encodeEntryBundle,
  encodeTile,
  entryBundleRange,
  formatTileIndex,
  parseTilePath,
  tileInTree,
  tileNodeRange,
  tilePath,
  tilesForSize,
  type Tile,
} from '../../src/merkle/tiles.js';
import { MemoryNodeStore } from './memory-store.js';
import { readJson } from './vectors.js';
import { codeOf } from '../../testing/codes.js';

interface TilesVectors {
  indexEncoding: { index: number; path: string }[];
  specExamples: {
    treeSize: number;
    tiles: { level: number; fullTiles: number; firstFull: string | null; lastFull: string | null; partial: string | null }[];
    entryBundles?: { full: string; partial: string };
  }[];
  referenceTreeSize8: { tilePath: string; tileBytesHex: string };
  entryBundleExample: { entries: string[]; bundleHex: string };
}

const v = readJson('tlog-tiles-vectors.json') as TilesVectors;

describe('C2SP tlog-tiles', () => {
  it.each(v.indexEncoding)('encodes index $index as $path', ({ index, path }) => {
    expect(formatTileIndex(index)).toBe(path);
    expect(parseTilePath(`tile/0/${path}`)).toEqual({ kind: 'hash', level: 0, index, width: 256 });
  });

  describe.each(v.specExamples)('tree size $treeSize', (ex) => {
    it('has the tiles of the spec example', () => {
      const levels = tilesForSize(ex.treeSize);
      expect(levels.map((l) => l.level)).toEqual(ex.tiles.map((t) => t.level));
      for (const want of ex.tiles) {
        const got = levels[want.level]!;
        expect(got.fullTiles).toBe(want.fullTiles);
        const full = (index: number): string => tilePath({ kind: 'hash', level: want.level, index, width: 256 });
        expect(got.fullTiles > 0 ? full(0) : null).toBe(want.firstFull);
        expect(got.fullTiles > 0 ? full(got.fullTiles - 1) : null).toBe(want.lastFull);
        const partial =
          got.partialWidth > 0 ? tilePath({ kind: 'hash', level: want.level, index: got.fullTiles, width: got.partialWidth }) : null;
        expect(partial).toBe(want.partial);
        // Every listed tile is in the tree; the next one is not.
        if (got.fullTiles > 0) {
          expect(tileInTree({ kind: 'hash', level: want.level, index: got.fullTiles - 1, width: 256 }, ex.treeSize)).toBe(true);
        }
        expect(tileInTree({ kind: 'hash', level: want.level, index: got.fullTiles, width: 256 }, ex.treeSize)).toBe(false);
        if (got.partialWidth > 0) {
          const p = { kind: 'hash', level: want.level, index: got.fullTiles, width: got.partialWidth } as const;
          expect(tileInTree(p, ex.treeSize)).toBe(true);
          expect(tileInTree({ ...p, width: p.width + 1 }, ex.treeSize)).toBe(false);
        }
      }
    });

  });

  it.each(v.specExamples.filter((ex) => ex.entryBundles !== undefined))('has the entry bundles of tree size $treeSize', (ex) => {
    const l0 = tilesForSize(ex.treeSize)[0]!;
    const bundle = (index: number, width: number): string => tilePath({ kind: 'entries', index, width });
    expect(`${bundle(0, 256)} .. ${bundle(l0.fullTiles - 1, 256)}`).toBe(ex.entryBundles?.full);
    expect(bundle(l0.fullTiles, l0.partialWidth)).toBe(ex.entryBundles?.partial);
    expect(tileInTree({ kind: 'entries', index: l0.fullTiles, width: l0.partialWidth }, ex.treeSize)).toBe(true);
    expect(tileInTree({ kind: 'entries', index: l0.fullTiles, width: l0.partialWidth + 1 }, ex.treeSize)).toBe(false);
  });

  it('has no tiles for the empty tree', () => {
    expect(tilesForSize(0)).toEqual([]);
    expect(tileInTree({ kind: 'hash', level: 0, index: 0, width: 1 }, 0)).toBe(false);
  });

  it('builds the level-0 tile of the 8-leaf reference tree from stored nodes', () => {
    const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
    const store = new MemoryNodeStore();
    store.append(leaves.map((l) => hashLeaf(fromHex(l))));
    const tile = parseTilePath(v.referenceTreeSize8.tilePath);
    expect(tile).toEqual({ kind: 'hash', level: 0, index: 0, width: 8 });
    if (tile.kind !== 'hash') throw new Error('unreachable');
    expect(tileInTree(tile, 8)).toBe(true);
    const { level, begin, end } = tileNodeRange(tile);
    const ids = Array.from({ length: end - begin }, (_, i) => ({ level, index: begin + i }));
    const bytes = encodeTile(store.fetch(ids));
    expect(toHex(bytes)).toBe(v.referenceTreeSize8.tileBytesHex);
    expect(decodeTile(bytes, 8).map(toHex)).toEqual(store.fetch(ids).map(toHex));
  });

  it('maps a level-L tile to the nodes at tree level 8·L', () => {
    expect(tileNodeRange({ kind: 'hash', level: 2, index: 3, width: 5 })).toEqual({ level: 16, begin: 768, end: 773 });
    expect(entryBundleRange({ kind: 'entries', index: 273, width: 112 })).toEqual({ begin: 69888, end: 70000 });
  });

  it('encodes the entry bundle example', () => {
    const entries = v.entryBundleExample.entries.map(fromHex);
    const bytes = encodeEntryBundle(entries);
    expect(toHex(bytes)).toBe(v.entryBundleExample.bundleHex);
    expect(decodeEntryBundle(bytes, entries.length).map(toHex)).toEqual(v.entryBundleExample.entries);
  });

  it('rejects malformed tiles and bundles with tile_invalid', () => {
    const ok = encodeEntryBundle([utf8('hello'), new Uint8Array(0)]);
    expect(codeOf(() => decodeEntryBundle(ok, 1))).toBe('tile_invalid'); // bytes after the entries
    expect(codeOf(() => decodeEntryBundle(ok, 3))).toBe('tile_invalid'); // too few entries
    expect(codeOf(() => decodeEntryBundle(ok.subarray(0, ok.length - 1), 2))).toBe('tile_invalid'); // truncated length
    expect(codeOf(() => decodeEntryBundle(ok.subarray(0, 4), 2))).toBe('tile_invalid'); // truncated entry
    expect(codeOf(() => decodeTile(new Uint8Array(32 * 8 - 1), 8))).toBe('tile_invalid');
    expect(codeOf(() => decodeTile(new Uint8Array(32 * 9), 8))).toBe('tile_invalid');
    // Caller bugs are not reported as bad input.
    expect(codeOf(() => decodeTile(new Uint8Array(0), 0))).toBe('argument_invalid');
    expect(codeOf(() => encodeTile([new Uint8Array(31)]))).toBe('argument_invalid');
    expect(codeOf(() => encodeTile([]))).toBe('argument_invalid');
    expect(codeOf(() => encodeEntryBundle([new Uint8Array(0x10000)]))).toBe('argument_invalid');
    expect(codeOf(() => tilePath({ kind: 'hash', level: 64, index: 0, width: 256 }))).toBe('argument_invalid');
    expect(codeOf(() => tilePath({ kind: 'hash', level: 0, index: -1, width: 256 }))).toBe('index_out_of_range');
    expect(codeOf(() => tilePath({ kind: 'entries', index: 2 ** 50, width: 256 }))).toBe('index_out_of_range');
    expect(codeOf(() => tilePath({ kind: 'hash', level: 1.5, index: 0, width: 256 }))).toBe('argument_invalid');
    expect(codeOf(() => tilePath({ kind: 'entries', index: 0, width: 0 }))).toBe('argument_invalid');
  });

  describe('path parser (attacker-controlled input)', () => {
    it.each([
      ['tile/0/000', { kind: 'hash', level: 0, index: 0, width: 256 }],
      ['tile/63/999', { kind: 'hash', level: 63, index: 999, width: 256 }],
      ['tile/1/x001/x234/067.p/255', { kind: 'hash', level: 1, index: 1234067, width: 255 }],
      ['tile/entries/x002/000.p/1', { kind: 'entries', index: 2000, width: 1 }],
    ] as [string, Tile][])('accepts %s', (path, want) => {
      expect(parseTilePath(path)).toEqual(want);
      expect(tilePath(want)).toBe(path);
    });

    it('accepts the largest addressable index and no more', () => {
      const max = Math.floor((Number.MAX_SAFE_INTEGER - 255) / 256);
      expect(parseTilePath(`tile/0/${formatTileIndex(max)}`)).toEqual({ kind: 'hash', level: 0, index: max, width: 256 });
      expect(codeOf(() => parseTilePath(`tile/0/${formatTileIndex(max + 1)}`))).toBe('tile_invalid');
      expect(codeOf(() => parseTilePath('tile/0/x999/x999/x999/x999/x999/999'))).toBe('tile_invalid');
    });

    it.each([
      '',
      'tile',
      'tile/',
      'tile/0',
      'tile/0/',
      '/tile/0/000',
      'tile/0/000/',
      'tile//000',
      'tile/00/000', // leading zero in level
      'tile/01/000',
      'tile/64/000', // level above 63
      'tile/100/000',
      'tile/-1/000',
      'tile/+1/000',
      'tile/1e1/000',
      'tile/0x1/000',
      'tile/ 0/000',
      'tile/0/00', // groups of exactly three digits
      'tile/0/0000',
      'tile/0/1',
      'tile/0/x000/001', // leading zero group
      'tile/0/x000/x001/000',
      'tile/0/x001', // last group must not start with x
      'tile/0/001/000', // inner groups must start with x
      'tile/0/X001/000',
      'tile/0/x01/000',
      'tile/0/x001//000',
      'tile/0/000.p/256', // width 1 … 255
      'tile/0/000.p/0',
      'tile/0/000.p/000',
      'tile/0/000.p/01',
      'tile/0/000.p/',
      'tile/0/000.p',
      'tile/0/000.P/5',
      'tile/0/000.p/5/',
      'tile/0/000.p/1000',
      'tile/0/000?x=1',
      'tile/0/000#',
      'tile/0/000\n',
      'tile/0/０００', // full-width digits
      'tile/0/٠٠٠', // Arabic-Indic digits
      'tile/entry/000',
      'tile/entries/000.p/256',
      'tile/data/000',
      'TILE/0/000',
      'tile\\0\\000',
      'tile/0/../0/000',
      'tile/0/x001/x234/x567/x890/x123/x456/789', // seven groups
    ])('rejects %j with tile_invalid', (path) => {
      expect(codeOf(() => parseTilePath(path))).toBe('tile_invalid');
    });

    it('lists every problem of a path at once', () => {
      try {
        parseTilePath('tile/99/x000/001.p/300');
        expect.unreachable();
      } catch (e) {
        expect(isBackchannelError(e, 'tile_invalid')).toBe(true);
        expect((e as { details: { problems: string[] } }).details.problems).toHaveLength(3);
      }
    });

    it('round-trips every tile, and every parsed path is canonical', () => {
      const tile: fc.Arbitrary<Tile> = fc.oneof(
        fc.record({
          kind: fc.constant('hash' as const),
          level: fc.integer({ min: 0, max: 63 }),
          index: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 40 })),
          width: fc.integer({ min: 1, max: 256 }),
        }),
        fc.record({
          kind: fc.constant('entries' as const),
          index: fc.integer({ min: 0, max: 2 ** 44 }),
          width: fc.integer({ min: 1, max: 256 }),
        }),
      );
      fc.assert(
        fc.property(tile, (t) => {
          const path = tilePath(t);
          expect(parseTilePath(path)).toEqual(t);
        }),
      );
      // Any one-character edit of a valid path: whatever still parses must print back
      // identically, so no two strings name the same tile.
      const alphabet = fc.constantFrom(...'0123456789x/.pentris'.split(''), '');
      fc.assert(
        fc.property(tile, fc.nat(), alphabet, (t, at, ch) => {
          const path = tilePath(t);
          const i = at % (path.length + 1);
          for (const edited of [path.slice(0, i) + ch + path.slice(i), path.slice(0, i) + ch + path.slice(i + 1)]) {
            let parsed: Tile;
            try {
              parsed = parseTilePath(edited);
            } catch (e) {
              expect(isBackchannelError(e, 'tile_invalid')).toBe(true);
              continue;
            }
            expect(tilePath(parsed)).toBe(edited);
          }
        }),
      );
      // Random strings over the path alphabet: the same.
      fc.assert(
        fc.property(fc.stringMatching(/^tile\/[0-9ex]{0,3}\/[0-9x/]{0,12}(\.p\/[0-9]{0,4})?$/), (s) => {
          let parsed: Tile;
          try {
            parsed = parseTilePath(s);
          } catch (e) {
            expect(isBackchannelError(e, 'tile_invalid')).toBe(true);
            return;
          }
          expect(tilePath(parsed)).toBe(s);
        }),
      );
    });
  });
});

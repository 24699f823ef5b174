/**
 * Mutations for the coverage-guided fuzzer: byte-level (flips, interesting values, insertions,
 * deletions, duplications, splices with another corpus entry) and CBOR-aware (decode, change
 * one node of the tree, re-encode), so mutants get past the decoder into the parsers behind it.
 * Deterministic for a given generator.
 */
import { decodeCbor, encodeCbor, type CborValue } from '@backchannel/core';

/** A small, seedable generator (mulberry32): campaigns are reproducible from their seed. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** Bytes that sit on CBOR's boundaries (major type and length encodings) and on UTF-8's. */
const INTERESTING = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x3f, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff, 0x0a, 0x20, 0x2d, 0x7b, 0x22, 0xc3, 0xe2];
const INTERESTING_INTS = [0, 1, -1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53) + 1, 1e15];

function byteMutation(rng: Rng, b: Uint8Array, other: Uint8Array | undefined): Uint8Array {
  const out = Array.from(b);
  switch (pick(rng, 8)) {
    case 0: {
      if (out.length === 0) return Uint8Array.of(pick(rng, 256));
      const i = pick(rng, out.length);
      out[i] = out[i]! ^ (1 << pick(rng, 8));
      break;
    }
    case 1: {
      if (out.length === 0) return Uint8Array.of(INTERESTING[pick(rng, INTERESTING.length)]!);
      out[pick(rng, out.length)] = INTERESTING[pick(rng, INTERESTING.length)]!;
      break;
    }
    case 2: {
      const at = pick(rng, out.length + 1);
      const n = 1 + pick(rng, 8);
      out.splice(at, 0, ...Array.from({ length: n }, () => pick(rng, 256)));
      break;
    }
    case 3: {
      if (out.length === 0) break;
      const at = pick(rng, out.length);
      out.splice(at, 1 + pick(rng, Math.min(32, out.length - at)));
      break;
    }
    case 4: {
      if (out.length === 0) break;
      const at = pick(rng, out.length);
      const n = 1 + pick(rng, Math.min(64, out.length - at));
      out.splice(pick(rng, out.length + 1), 0, ...out.slice(at, at + n));
      break;
    }
    case 5: {
      // Truncate: the most common shape of a cut connection.
      return Uint8Array.from(out.slice(0, pick(rng, out.length + 1)));
    }
    case 6: {
      if (other === undefined || other.length === 0) break;
      const a = pick(rng, out.length + 1);
      const c = pick(rng, other.length);
      return Uint8Array.from([...out.slice(0, a), ...other.subarray(c, c + 1 + pick(rng, other.length - c))]);
    }
    default: {
      // Overwrite a 1-, 2-, 4- or 8-byte field with an edge value, big-endian as CBOR writes lengths.
      if (out.length < 2) break;
      const width = [1, 2, 4, 8][pick(rng, 4)]!;
      const at = pick(rng, Math.max(1, out.length - width));
      const v = [0, 0xff, 0x7f, 0x80][pick(rng, 4)]!;
      for (let i = 0; i < width && at + i < out.length; i++) out[at + i] = i === 0 ? v : v === 0x80 ? 0 : v;
    }
  }
  return Uint8Array.from(out);
}

/** Walks to a random node and replaces it. */
function mutateValue(rng: Rng, v: CborValue, depth: number): CborValue {
  const descend = depth < 6 && rng() < 0.7;
  if (Array.isArray(v)) {
    if (v.length > 0 && descend) {
      const i = pick(rng, v.length);
      const copy = [...v];
      copy[i] = mutateValue(rng, copy[i]!, depth + 1);
      return copy;
    }
    const r = pick(rng, 3);
    if (r === 0) return v.slice(0, pick(rng, v.length + 1));
    if (r === 1 && v.length > 0) return [...v, v[pick(rng, v.length)]!];
    return replacement(rng);
  }
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const keys = Object.keys(v);
    if (keys.length > 0 && descend) {
      const k = keys[pick(rng, keys.length)]!;
      return { ...v, [k]: mutateValue(rng, v[k]!, depth + 1) };
    }
    const r = pick(rng, 3);
    if (r === 0 && keys.length > 0) {
      const drop = keys[pick(rng, keys.length)]!;
      return Object.fromEntries(Object.entries(v).filter(([k]) => k !== drop));
    }
    if (r === 1) return { ...v, [['x', 'v', 'b', 'k', 's', '', 'extra'][pick(rng, 7)]!]: replacement(rng) };
    return replacement(rng);
  }
  if (typeof v === 'number') return rng() < 0.7 ? INTERESTING_INTS[pick(rng, INTERESTING_INTS.length)]! : replacement(rng);
  if (v instanceof Uint8Array) {
    const r = pick(rng, 4);
    if (r === 0) return v.subarray(0, pick(rng, v.length + 1));
    if (r === 1) return Uint8Array.from([...v, ...v.subarray(0, 1 + pick(rng, 16))]);
    if (r === 2) return byteMutation(rng, v, undefined);
    return replacement(rng);
  }
  if (typeof v === 'string') {
    const r = pick(rng, 4);
    if (r === 0) return v.slice(0, pick(rng, v.length + 1));
    if (r === 1) return `${v}\u0000\u202e\ud800`.slice(0, v.length + 1 + pick(rng, 3));
    if (r === 2) return v.toUpperCase();
    return replacement(rng);
  }
  return replacement(rng);
}

function replacement(rng: Rng): CborValue {
  switch (pick(rng, 7)) {
    case 0:
      return INTERESTING_INTS[pick(rng, INTERESTING_INTS.length)]!;
    case 1:
      return new Uint8Array(pick(rng, 4) === 0 ? 0 : [16, 32, 33, 64][pick(rng, 4)]!);
    case 2:
      return ['', 'note', 'FLASH', 'x25519', 'us', 'ir', '\u00e9'][pick(rng, 7)]!;
    case 3:
      return null;
    case 4:
      return rng() < 0.5;
    case 5:
      return [];
    default:
      return {};
  }
}

function cborMutation(rng: Rng, b: Uint8Array): Uint8Array | undefined {
  let v: CborValue;
  try {
    v = decodeCbor(b);
  } catch {
    return undefined;
  }
  // A signed wrapper carries its body as a byte string of CBOR: half the time, mutate inside it.
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && v.b instanceof Uint8Array && rng() < 0.5) {
    const inner = cborMutation(rng, v.b);
    if (inner !== undefined) return encodeCbor({ ...v, b: inner });
  }
  try {
    return encodeCbor(mutateValue(rng, v, 0));
  } catch {
    return undefined;
  }
}

/** One mutant of `input`; `other` is another corpus entry, for splices. */
export function mutate(rng: Rng, input: Uint8Array, other: Uint8Array | undefined): Uint8Array {
  let out = input;
  // Stack a few mutations: single changes rarely get past a signature and a schema together.
  const rounds = 1 + pick(rng, 3);
  for (let i = 0; i < rounds; i++) {
    const viaCbor = rng() < 0.35 ? cborMutation(rng, out) : undefined;
    out = viaCbor ?? byteMutation(rng, out, other);
  }
  return out;
}

/**
 * A single-pass check that bytes are exactly one item of our CBOR profile in RFC 8949 §4.2.1
 * core deterministic encoding, so `decodeCbor` can skip proving canonical form by re-encoding,
 * and the build of such bytes' value (`buildCanonicalCbor`), which trusts what the scan proved.
 *
 * Soundness is the contract: whenever this returns true, the slow path in cbor.ts (cborg strict
 * decode, `fromDecoded`, re-encode and compare) accepts the same bytes. Returning false costs
 * only speed, so every doubtful case answers false. The input is attacker-controlled: every
 * length is checked against the bytes left before it is used, and recursion is bounded by
 * MAX_DEPTH.
 */
import { isUtf8 } from 'node:buffer';
import type { CborMap, CborValue } from './cbor.js';

/** `fromDecoded` in cbor.ts refuses any value nested deeper than this. */
const MAX_DEPTH = 16;
const REJECT = -1;
/** 2^32, the scale of the high word of an 8-byte head argument. */
const TWO_32 = 0x1_0000_0000;
/**
 * cborg decodes major 0 and 1 to JS numbers and `fromDecoded` keeps only safe integers:
 * major 0 carries n ≤ 2^53−1, major 1 carries −1−n ≥ −(2^53−1), so n ≤ 2^53−2.
 */
const MAX_UINT_ARG = Number.MAX_SAFE_INTEGER;
const MAX_NEGINT_ARG = Number.MAX_SAFE_INTEGER - 1;

/**
 * The argument of the head at `pos` is returned through this slot rather than a fresh object,
 * so scanning allocates nothing per item.
 */
let headArg = 0;

export function isCanonicalCbor(bytes: Uint8Array): boolean {
  try {
    return scanItem(bytes, 0, 0) === bytes.length;
  } catch {
    // isUtf8 throws on a detached buffer; any failure here may only cost the fast path.
    return false;
  }
}

/**
 * The value of bytes `isCanonicalCbor` accepted, built without cborg: the same value its strict
 * decode and `fromDecoded` give (maps as plain objects in encoded order, byte strings as copies,
 * text as decoded UTF-8), property-tested against them in cbor-canonical.test.ts. cborg builds a
 * token object per item and `fromDecoded` a second tree from its Maps: on a relay, a desk and its
 * copy-check thread, decoding was about a quarter of all bytes allocated. Only for bytes the scan
 * accepted: it trusts the structure the scan proved.
 */
export function buildCanonicalCbor(bytes: Uint8Array): CborValue {
  buildPos = 0;
  return buildItem(bytes);
}

/** The position `buildItem` reads next: a slot, like `headArg`, so the build allocates only values. */
let buildPos = 0;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function buildItem(b: Uint8Array): CborValue {
  const initial = b[buildPos] as number;
  const major = initial >> 5;
  if (major === 7) {
    buildPos++;
    return initial === 0xf5 ? true : initial === 0xf4 ? false : null;
  }
  buildPos = readHead(b, buildPos);
  const arg = headArg;
  switch (major) {
    case 0:
      return arg;
    case 1:
      return -1 - arg;
    case 2: {
      // A copy, as cborg gives: the value must not change with the buffer it came in.
      const v = new Uint8Array(b.subarray(buildPos, buildPos + arg));
      buildPos += arg;
      return v;
    }
    case 3:
      return readText(b, arg);
    case 4: {
      const out: CborValue[] = [];
      for (let i = 0; i < arg; i++) out.push(buildItem(b));
      return out;
    }
    default: {
      const out: CborMap = {};
      for (let i = 0; i < arg; i++) {
        buildPos = readHead(b, buildPos);
        const k = readText(b, headArg);
        out[k] = buildItem(b);
      }
      return out;
    }
  }
}

/** Text of `len` bytes at `buildPos`: short ASCII directly, the rest through a TextDecoder (the scan proved it decodes exactly). */
function readText(b: Uint8Array, len: number): string {
  const start = buildPos;
  const end = start + len;
  buildPos = end;
  if (len <= 32) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = b[i] as number;
      if (c >= 0x80) return utf8Decoder.decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(b.subarray(start, end));
}

/**
 * Reads the head at `pos` into `headArg` and returns the position after it, or REJECT when the
 * head is truncated, reserved (28..30), indefinite (31) or not in its shortest form (§4.2.1).
 */
function readHead(b: Uint8Array, pos: number): number {
  const minor = (b[pos] as number) & 0x1f;
  if (minor < 24) {
    headArg = minor;
    return pos + 1;
  }
  switch (minor) {
    case 24: {
      if (pos + 2 > b.length) return REJECT;
      const v = b[pos + 1] as number;
      if (v < 24) return REJECT;
      headArg = v;
      return pos + 2;
    }
    case 25: {
      if (pos + 3 > b.length) return REJECT;
      const v = ((b[pos + 1] as number) << 8) | (b[pos + 2] as number);
      if (v < 0x100) return REJECT;
      headArg = v;
      return pos + 3;
    }
    case 26: {
      if (pos + 5 > b.length) return REJECT;
      const v = readU32(b, pos + 1);
      if (v < 0x1_0000) return REJECT;
      headArg = v;
      return pos + 5;
    }
    case 27: {
      if (pos + 9 > b.length) return REJECT;
      const hi = readU32(b, pos + 1);
      // hi = 0 fits in four bytes (not shortest); hi ≥ 2^21 is beyond 2^53 and outside the profile.
      if (hi === 0 || hi >= 0x20_0000) return REJECT;
      headArg = hi * TWO_32 + readU32(b, pos + 5);
      return pos + 9;
    }
    default:
      return REJECT;
  }
}

function readU32(b: Uint8Array, pos: number): number {
  return (b[pos] as number) * 0x100_0000 + (((b[pos + 1] as number) << 16) | ((b[pos + 2] as number) << 8) | (b[pos + 3] as number));
}

/** Returns the position after the item at `pos`, or REJECT. */
function scanItem(b: Uint8Array, pos: number, depth: number): number {
  if (depth > MAX_DEPTH || pos >= b.length) return REJECT;
  const initial = b[pos] as number;
  const major = initial >> 5;
  if (major === 7) {
    // Only false, true and null; floats, undefined and other simple values are outside the profile.
    return initial >= 0xf4 && initial <= 0xf6 ? pos + 1 : REJECT;
  }
  if (major === 6) return REJECT; // no tags in the profile
  let p = readHead(b, pos);
  if (p === REJECT) return REJECT;
  const arg = headArg;
  switch (major) {
    case 0:
      return arg <= MAX_UINT_ARG ? p : REJECT;
    case 1:
      return arg <= MAX_NEGINT_ARG ? p : REJECT;
    case 2:
      return arg <= b.length - p ? p + arg : REJECT;
    case 3:
      return arg <= b.length - p && isDecodableText(b, p, p + arg) ? p + arg : REJECT;
    case 4: {
      // Every item takes at least one byte: a count beyond what is left is rejected up front.
      if (arg > b.length - p) return REJECT;
      for (let i = 0; i < arg; i++) {
        p = scanItem(b, p, depth + 1);
        if (p === REJECT) return REJECT;
      }
      return p;
    }
    default: // 5: map with text keys in strictly increasing bytewise order of their encodings
      return scanMap(b, p, arg, depth);
  }
}

function scanMap(b: Uint8Array, pos: number, count: number, depth: number): number {
  if (count > (b.length - pos) / 2) return REJECT;
  let p = pos;
  let prevStart = -1;
  let prevEnd = -1;
  for (let i = 0; i < count; i++) {
    const keyStart = p;
    if (p >= b.length || (b[p] as number) >> 5 !== 3) return REJECT;
    p = readHead(b, p);
    if (p === REJECT) return REJECT;
    const len = headArg;
    if (len > b.length - p) return REJECT;
    const keyEnd = p + len;
    if (!isDecodableText(b, p, keyEnd) || isProtoKey(b, p, len)) return REJECT;
    // §4.2.1: keys sorted by the bytewise order of their deterministic encodings; equal is a duplicate.
    if (prevStart >= 0 && compareRanges(b, prevStart, prevEnd, keyStart, keyEnd) >= 0) return REJECT;
    prevStart = keyStart;
    prevEnd = keyEnd;
    p = scanItem(b, keyEnd, depth + 1);
    if (p === REJECT) return REJECT;
  }
  return p;
}

function compareRanges(b: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < n; i++) {
    const d = (b[aStart + i] as number) - (b[bStart + i] as number);
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

/** "__proto__", which `fromDecoded` refuses as a map key. */
const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f];

function isProtoKey(b: Uint8Array, start: number, len: number): boolean {
  if (len !== PROTO.length) return false;
  for (let i = 0; i < len; i++) if (b[start + i] !== PROTO[i]) return false;
  return true;
}

/**
 * True when cborg turns b[start, end) into a string whose UTF-8 encoding is exactly those bytes.
 * cborg decodes with a default `TextDecoder`, which replaces invalid sequences with U+FFFD and
 * strips a leading byte order mark (EF BB BF), so both would re-encode to other bytes.
 */
function isDecodableText(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && (b[i] as number) < 0x80) i++;
  if (i === end) return true;
  if (end - start >= 3 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf) return false;
  return isUtf8(b.subarray(i, end));
}

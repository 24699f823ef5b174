/**
 * A small reader for decoded CBOR maps that collects every problem before it throws, so a
 * rejection names every bad field at once (STYLE.md §6). Unknown keys are errors: a field we
 * do not understand must not silently ride along inside a signed structure.
 */
import { BackchannelError, type ErrorCode } from './errors.js';
import type { CborMap, CborValue } from './cbor.js';

export class MapReader {
  readonly #map: CborMap;
  readonly #what: string;
  readonly #seen = new Set<string>();
  readonly problems: string[] = [];

  constructor(value: CborValue, what: string) {
    this.#what = what;
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
      this.#map = {};
      this.problems.push(`${what} is not a map`);
    } else {
      this.#map = value;
    }
  }

  #get(key: string, optional: boolean): CborValue | undefined {
    this.#seen.add(key);
    if (!Object.hasOwn(this.#map, key)) {
      if (!optional) this.problems.push(`${this.#what}.${key} is missing`);
      return undefined;
    }
    return this.#map[key];
  }

  #bad(key: string, want: string): void {
    this.problems.push(`${this.#what}.${key} must be ${want}`);
  }

  uint(key: string, opts: { min?: number; max?: number } = {}): number {
    const v = this.#get(key, false);
    if (v === undefined) return 0;
    const min = opts.min ?? 0;
    const max = opts.max ?? Number.MAX_SAFE_INTEGER;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.#bad(key, `an integer from ${min} to ${max}`);
      return 0;
    }
    return v;
  }

  optUint(key: string, opts: { min?: number; max?: number } = {}): number | undefined {
    if (!Object.hasOwn(this.#map, key)) {
      this.#seen.add(key);
      return undefined;
    }
    return this.uint(key, opts);
  }

  bytes(key: string, opts: { len?: number; min?: number; max?: number } = {}): Uint8Array {
    const v = this.#get(key, false);
    if (v === undefined) return new Uint8Array(0);
    return this.#checkBytes(key, v, opts);
  }

  optBytes(key: string, opts: { len?: number; min?: number; max?: number } = {}): Uint8Array | undefined {
    const v = this.#get(key, true);
    if (v === undefined) return undefined;
    return this.#checkBytes(key, v, opts);
  }

  #checkBytes(key: string, v: CborValue, opts: { len?: number; min?: number; max?: number }): Uint8Array {
    if (!(v instanceof Uint8Array)) {
      this.#bad(key, 'a byte string');
      return new Uint8Array(0);
    }
    if (opts.len !== undefined && v.length !== opts.len) this.#bad(key, `${opts.len} bytes (got ${v.length})`);
    if (opts.min !== undefined && v.length < opts.min) this.#bad(key, `at least ${opts.min} bytes`);
    if (opts.max !== undefined && v.length > opts.max) this.#bad(key, `at most ${opts.max} bytes`);
    return v;
  }

  text(key: string, opts: { pattern?: RegExp; max?: number; oneOf?: readonly string[] } = {}): string {
    const v = this.#get(key, false);
    if (v === undefined) return '';
    return this.#checkText(key, v, opts);
  }

  optText(key: string, opts: { pattern?: RegExp; max?: number; oneOf?: readonly string[] } = {}): string | undefined {
    const v = this.#get(key, true);
    if (v === undefined) return undefined;
    return this.#checkText(key, v, opts);
  }

  #checkText(key: string, v: CborValue, opts: { pattern?: RegExp; max?: number; oneOf?: readonly string[] }): string {
    if (typeof v !== 'string') {
      this.#bad(key, 'text');
      return '';
    }
    if (opts.max !== undefined && v.length > opts.max) this.#bad(key, `at most ${opts.max} characters`);
    if (opts.pattern !== undefined && !opts.pattern.test(v)) this.#bad(key, `text matching ${String(opts.pattern)}`);
    if (opts.oneOf !== undefined && !opts.oneOf.includes(v)) this.#bad(key, `one of ${opts.oneOf.join(', ')}`);
    return v;
  }

  bool(key: string): boolean {
    const v = this.#get(key, false);
    if (v === undefined) return false;
    if (typeof v !== 'boolean') {
      this.#bad(key, 'a boolean');
      return false;
    }
    return v;
  }

  /** An array whose items are parsed by `item`; item parsers push their own problems here. */
  array<T>(key: string, item: (v: CborValue, path: string, r: MapReader) => T, opts: { max?: number; optional?: boolean } = {}): T[] {
    const v = this.#get(key, opts.optional === true);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.#bad(key, 'an array');
      return [];
    }
    if (opts.max !== undefined && v.length > opts.max) {
      this.#bad(key, `an array of at most ${opts.max} items`);
      return [];
    }
    return v.map((x, i) => item(x, `${this.#what}.${key}[${i}]`, this));
  }

  /** A nested map, read by a child reader whose problems are merged into this one. */
  map<T>(key: string, read: (r: MapReader) => T, opts: { optional?: boolean } = {}): T | undefined {
    const v = this.#get(key, opts.optional === true);
    if (v === undefined) return undefined;
    const child = new MapReader(v, `${this.#what}.${key}`);
    const out = read(child);
    child.finishInto(this);
    return out;
  }

  raw(key: string, opts: { optional?: boolean } = {}): CborValue | undefined {
    return this.#get(key, opts.optional === true);
  }

  /** Records unknown keys, then merges problems into a parent reader. */
  finishInto(parent: MapReader): void {
    this.#unknown();
    parent.problems.push(...this.problems);
  }

  #unknown(): void {
    for (const k of Object.keys(this.#map)) if (!this.#seen.has(k)) this.problems.push(`${this.#what}.${k} is not a known field`);
  }

  /** Throws one error naming every problem found, or returns. */
  done(code: ErrorCode = 'schema_invalid'): void {
    this.#unknown();
    if (this.problems.length > 0) {
      throw new BackchannelError(code, `invalid ${this.#what}: ${this.problems.join('; ')}`, { details: { problems: [...this.problems] } });
    }
  }
}

/** Reads one nested map item inside an array (for `MapReader.array`). */
export function readItem<T>(v: CborValue, path: string, parent: MapReader, read: (r: MapReader) => T): T {
  const r = new MapReader(v, path);
  const out = read(r);
  r.finishInto(parent);
  return out;
}

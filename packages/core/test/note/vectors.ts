/**
 * Loads the shared transparency-log vectors (../shared/vectors/tlog, a sibling of the repo) and
 * small helpers the note tests share.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ed25519Key } from '../../src/ed25519.js';
import { fromHex } from '../../src/bytes.js';
import { isBackchannelError } from '../../src/errors.js';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const tlogDir = path.resolve(repoRoot, '../shared/vectors/tlog');

function load(name: string): unknown {
  return JSON.parse(readFileSync(path.join(tlogDir, name), 'utf8'));
}

export interface ValidNoteVector {
  id: string;
  vkey?: string;
  vkeys?: string[];
  skey?: string;
  ed25519SeedHex?: string;
  enochEd25519SeedHex?: string;
  note?: string;
  expectText?: string;
  expectVerifiedBy?: string[];
  checkpointBody?: string;
  cosignatureLine?: string;
  expectTimestamp?: number;
  signedMessage?: string;
}

export interface SignedNoteVectors {
  valid: ValidNoteVector[];
  vkeyOnly: {
    id: string;
    vkey?: string;
    expectType?: number;
    signatureBase64?: string;
    expectKeyIdHex?: string;
    expectTimestamp?: number;
  }[];
  malformedNotes: {
    cases: string[];
    invalidUtf8CaseHex: string;
    badSignatureFromKnownKey: { note: string };
  };
  badVkeys: { cases: { vkey: string; why: string }[] };
}

export interface E2eVectors {
  logKey: { name: string; ed25519SeedHex: string; vkey: string };
  witnessKey: { name: string; ed25519SeedHex: string; vkey: string };
  checkpointSize4: string;
  checkpointSize7: string;
  witnessCosignatureOnSize7: { timestamp: number; signedMessage: string; line: string };
  tlogProofIndex3: { leafInputHex: string; leafHashHex: string; text: string };
  addCheckpointRequestBody_4_to_7: string;
}

export const noteVectors = load('signed-note-vectors.json') as SignedNoteVectors;
export const e2e = load('e2e-derived-example.json') as E2eVectors;

export function validVector(id: string): ValidNoteVector {
  const v = noteVectors.valid.find((x) => x.id === id);
  if (v === undefined) throw new Error(`no vector ${id}`);
  return v;
}

export function keyFromSeedHex(hex: string): Ed25519Key {
  return Ed25519Key.fromSeed(fromHex(hex));
}

export { codeOf } from '../../testing/codes.js';

/** The BackchannelError `f` throws (fails the test if it does not throw one). */
export function errorOf(f: () => unknown): { code: string; details: Readonly<Record<string, unknown>> | undefined } {
  try {
    f();
  } catch (e) {
    if (isBackchannelError(e)) return { code: e.code, details: e.details };
    throw e;
  }
  throw new Error('expected a BackchannelError');
}

/** Text of a note without its signature lines: everything up to and including the last "\n\n" minus one newline. */
export function noteText(note: string): string {
  return note.slice(0, note.lastIndexOf('\n\n') + 1);
}

/** Passes a value of the wrong type to an API typed for text (type-confusion tests). */
export function asText(x: unknown): string {
  return x as string;
}

// Built from code points so that no regex literal holds a control character.
const ch = (c: number): string => String.fromCharCode(c);
/** Every ASCII control character (for generating valid note lines). */
export const CONTROLS = new RegExp(`[${ch(0)}-${ch(0x1f)}]`, 'g');
/** Every ASCII control character but newline (for generating valid note text). */
export const CONTROLS_BUT_NEWLINE = new RegExp(`[${ch(0)}-${ch(0x09)}${ch(0x0b)}-${ch(0x1f)}]`, 'g');

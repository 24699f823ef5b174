/**
 * Witness quorum policy per relay (C2SP tlog-policy style: which witnesses, how many). A
 * checkpoint is *witnessed* when at least `quorum` of the listed witnesses cosigned it
 * (cosignature/v1 lines verified with `verifyCosignatures`; lines by unknown keys are ignored).
 * A checkpoint without quorum is unverified: a problem to report, never a fork by itself.
 */
import { SIGNATURE_TYPE_COSIGNATURE_V1, formatVkey, isBackchannelError, parseVkey, verifyCosignatures, type NoteSignature, type Vkey } from '@backchannel/core';
import { StationError } from './errors.js';
import type { StationStore } from './store/store.js';

export interface WitnessPolicy {
  /** The witnesses' vkeys (type 0x04), as text. */
  witnesses: string[];
  /** How many of them must cosign; 0 means "no witness needed". */
  quorum: number;
}

export const NO_WITNESS_POLICY: WitnessPolicy = { witnesses: [], quorum: 0 };

/** Checks and normalises a policy: vkeys of cosignature/v1 type, distinct, 0 ≤ quorum ≤ count. Default quorum: all of them. */
export function makeWitnessPolicy(witnesses: readonly string[], quorum?: number): WitnessPolicy {
  const out: string[] = [];
  for (const w of witnesses) {
    let v: Vkey;
    try {
      v = parseVkey(w);
    } catch (e) {
      throw new StationError('witness_policy_invalid', `witness key ${JSON.stringify(w)} is not a vkey${isBackchannelError(e) ? `: ${e.message}` : ''}`);
    }
    if (v.type !== SIGNATURE_TYPE_COSIGNATURE_V1) throw new StationError('witness_policy_invalid', `witness key ${v.name} is not a cosignature/v1 key`);
    const text = formatVkey(v);
    if (out.includes(text)) throw new StationError('witness_policy_invalid', `witness key ${v.name} is listed twice`);
    out.push(text);
  }
  const q = quorum ?? out.length;
  if (!Number.isSafeInteger(q) || q < 0 || q > out.length) throw new StationError('witness_policy_invalid', `the quorum must be a whole number from 0 to ${out.length} (the number of witnesses)`);
  return { witnesses: out, quorum: q };
}

export interface QuorumCheck {
  ok: boolean;
  quorum: number;
  /** The names of the policy's witnesses whose cosignature verified. */
  cosigned: string[];
  problems: string[];
}

/**
 * Checks a checkpoint's cosignatures against the policy. `text` is the checkpoint body (the
 * verified note text), `signatures` every signature line of the note.
 */
export function checkQuorum(text: string, signatures: readonly NoteSignature[], policy: WitnessPolicy): QuorumCheck {
  const problems: string[] = [];
  let cosigned: string[] = [];
  try {
    cosigned = verifyCosignatures(text, signatures, policy.witnesses.map((w) => parseVkey(w))).map((c) => c.name);
  } catch (e) {
    if (!isBackchannelError(e)) throw e;
    problems.push(`a witness cosignature does not verify: ${e.message}`);
  }
  if (problems.length === 0 && cosigned.length < policy.quorum) {
    problems.push(`checkpoint is not witnessed: ${cosigned.length} of the ${policy.quorum} witness cosignatures the policy requires`);
  }
  return { ok: problems.length === 0, quorum: policy.quorum, cosigned, problems };
}

const settingKey = (relay: string): string => `witness_policy/${relay}`;

/** The relay's witness policy (none set: no witness needed). */
export async function getWitnessPolicy(store: StationStore, relay: string): Promise<WitnessPolicy> {
  const v = await store.getSetting(settingKey(relay));
  if (v === undefined) return NO_WITNESS_POLICY;
  const o = JSON.parse(v) as Partial<WitnessPolicy>;
  if (!Array.isArray(o.witnesses) || typeof o.quorum !== 'number') throw new StationError('store_invalid', `the witness policy of relay ${relay} is damaged`);
  return makeWitnessPolicy(o.witnesses.filter((w): w is string => typeof w === 'string'), o.quorum);
}

export async function setWitnessPolicy(store: StationStore, relay: string, policy: WitnessPolicy): Promise<void> {
  const p = makeWitnessPolicy(policy.witnesses, policy.quorum);
  await store.setSetting(settingKey(relay), JSON.stringify(p));
}

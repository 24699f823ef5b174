/**
 * The party card: public JSON that one party hands another (PRODUCT.md contract: `kind`, `id`,
 * `name`, `fingerprint`). Everything in it that matters is inside the root-signed bundle; the
 * plain JSON fields are conveniences that must agree with it, and a card whose fields disagree
 * is refused, so a doctored card cannot show one name and carry another key.
 */
import { BackchannelError } from '../errors.js';
import { fromBase64, toBase64 } from '../bytes.js';
import { readCardObject } from './card-json.js';
import { openBundle, type SignedBundle, type SuiteName } from './bundle.js';
import { partyFingerprint } from './fingerprint.js';

export interface PartyCardJson {
  kind: 'party';
  version: 1;
  id: string;
  name: string;
  fingerprint: string;
  root: string;
  suites: SuiteName[];
  seq: number;
  bundle: string;
}

export interface PartyCard {
  id: string;
  name: string;
  fingerprint: string;
  signed: SignedBundle;
}

export function partyCardJson(signed: SignedBundle): PartyCardJson {
  const b = signed.bundle;
  return {
    kind: 'party',
    version: 1,
    id: b.party,
    name: b.name,
    fingerprint: partyFingerprint(b.party, b.root),
    root: toBase64(b.root),
    suites: [...b.suites],
    seq: b.seq,
    bundle: toBase64(signed.bytes),
  };
}

const MAX_CARD_CHARS = 1024 * 1024;
const CARD_FIELDS = ['kind', 'version', 'id', 'name', 'fingerprint', 'root', 'suites', 'seq', 'bundle'];

/** Parses a card from JSON text or a parsed object; every inconsistency is named. */
export function parsePartyCard(input: unknown): PartyCard {
  const c = readCardObject(input, 'party', MAX_CARD_CHARS);
  if (typeof c.bundle !== 'string') throw new BackchannelError('card_invalid', 'card has no bundle');
  const signed = openBundle(fromBase64(c.bundle));
  const b = signed.bundle;
  const fp = partyFingerprint(b.party, b.root);
  const problems: string[] = [];
  if (c.id !== b.party) problems.push(`id ${JSON.stringify(c.id)} differs from the signed bundle's ${b.party}`);
  if (c.name !== b.name) problems.push(`name differs from the signed bundle's`);
  // The card carries the canonical form exactly; only what a person types is normalized.
  if (c.fingerprint !== fp) problems.push('fingerprint is not the canonical fingerprint of the root key');
  if (c.root !== toBase64(b.root)) problems.push('root differs from the signed bundle');
  if (c.seq !== b.seq) problems.push('seq differs from the signed bundle');
  if (!Array.isArray(c.suites) || c.suites.length !== b.suites.length || c.suites.some((x, i) => x !== b.suites[i])) problems.push('suites differ from the signed bundle');
  for (const k of Object.keys(c)) if (!CARD_FIELDS.includes(k)) problems.push(`${k} is not a known field`);
  if (problems.length > 0) throw new BackchannelError('card_invalid', `inconsistent party card: ${problems.join('; ')}`, { details: { problems } });
  return { id: b.party, name: b.name, fingerprint: fp, signed };
}

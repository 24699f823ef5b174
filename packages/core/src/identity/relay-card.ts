/**
 * The relay card (PRODUCT.md contract: `kind`, `id`, `name`, `url`, `vkey`, `fingerprint`).
 * The vkey is the C2SP verifier key of the relay's log; its key name is the log's checkpoint
 * origin. The card is self-signed with the log key (label backchannel/v1/card) so its url and
 * name cannot be swapped by whoever hands the card over; stations pin the relay by fingerprint.
 */
import { encodeCbor } from '../cbor.js';
import { BackchannelError } from '../errors.js';
import { fromBase64, toBase64 } from '../bytes.js';
import { verify, type Ed25519Key } from '../ed25519.js';
import { LABELS } from '../labels.js';
import { deriveVkey, formatVkey, parseVkey, SIGNATURE_TYPE_COSIGNATURE_V1, SIGNATURE_TYPE_ED25519, type Vkey } from '../note/vkey.js';
import type { Random } from '../random.js';
import { systemRandom } from '../random.js';
import { readCardObject } from './card-json.js';
import { relayFingerprint } from './fingerprint.js';
import { DISPLAY_RE, RELAY_ID_RE } from './ids.js';

export interface RelayCardJson {
  kind: 'relay';
  version: 1;
  id: string;
  name: string;
  url: string;
  origin: string;
  vkey: string;
  fingerprint: string;
  /** The relay's separate witness cosigning key, if it also witnesses other logs. */
  witness?: string;
  sig: string;
}

export interface RelayCard {
  id: string;
  name: string;
  url: string;
  origin: string;
  vkey: Vkey;
  fingerprint: string;
  witness: Vkey | undefined;
  json: RelayCardJson;
}

const URL_RE = /^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/;
const MAX_CARD_CHARS = 64 * 1024;

/**
 * A globally unique log origin: the relay's URL authority and path, its id, and a random
 * suffix, so a re-created log (new key) never reuses an old origin.
 */
export function deriveOrigin(url: string, relayId: string, random: Random = systemRandom): string {
  if (!URL_RE.test(url)) throw new BackchannelError('schema_invalid', `relay URL ${JSON.stringify(url)} is not an http(s) URL`);
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  const suffix = Buffer.from(random(4)).toString('hex');
  return `${u.host}${path}/${relayId}/${suffix}`;
}

function signedPart(c: Omit<RelayCardJson, 'sig' | 'fingerprint'>): Uint8Array {
  const m: Record<string, string | number> = { kind: c.kind, version: c.version, id: c.id, name: c.name, url: c.url, origin: c.origin, vkey: c.vkey };
  if (c.witness !== undefined) m.witness = c.witness;
  return encodeCbor(m);
}

export function makeRelayCard(p: { id: string; name: string; url: string; origin: string; logKey: Ed25519Key; witnessKey?: Ed25519Key; witnessName?: string }): RelayCardJson {
  const vkey = formatVkey(deriveVkey(p.logKey, p.origin));
  const base: Omit<RelayCardJson, 'sig' | 'fingerprint'> = { kind: 'relay', version: 1, id: p.id, name: p.name, url: p.url, origin: p.origin, vkey };
  if (p.witnessKey !== undefined) base.witness = formatVkey(deriveVkey(p.witnessKey, p.witnessName ?? `${p.origin}/witness`, SIGNATURE_TYPE_COSIGNATURE_V1));
  const sig = toBase64(p.logKey.sign(LABELS.card, signedPart(base)));
  const card: RelayCardJson = { ...base, fingerprint: relayFingerprint(p.id, p.origin, p.logKey.publicKey), sig };
  parseRelayCard(card); // never hand out a card we would refuse
  return card;
}

export function parseRelayCard(input: unknown): RelayCard {
  const c = readCardObject(input, 'relay', MAX_CARD_CHARS);
  const problems: string[] = [];
  const str = (k: string): string => {
    const v = c[k];
    if (typeof v !== 'string') {
      problems.push(`${k} must be a string`);
      return '';
    }
    return v;
  };
  const id = str('id');
  const name = str('name');
  const url = str('url');
  const origin = str('origin');
  const vkeyText = str('vkey');
  const fingerprint = str('fingerprint');
  const sig = str('sig');
  const witnessText = c.witness === undefined ? undefined : str('witness');
  for (const k of Object.keys(c)) {
    if (!['kind', 'version', 'id', 'name', 'url', 'origin', 'vkey', 'fingerprint', 'witness', 'sig'].includes(k)) problems.push(`${k} is not a known field`);
  }
  if (!RELAY_ID_RE.test(id)) problems.push('id is not a valid relay id');
  if (!DISPLAY_RE.test(name)) problems.push('name is not displayable text');
  if (!URL_RE.test(url)) problems.push('url is not an http(s) URL');
  if (problems.length > 0) throw new BackchannelError('card_invalid', `invalid relay card: ${problems.join('; ')}`, { details: { problems } });

  const vkey = parseVkey(vkeyText);
  if (vkey.type !== SIGNATURE_TYPE_ED25519) problems.push('vkey is not an Ed25519 log key');
  if (vkey.name !== origin) problems.push('vkey key name is not the log origin');
  const witness = witnessText === undefined ? undefined : parseVkey(witnessText);
  if (witness !== undefined && witness.type !== SIGNATURE_TYPE_COSIGNATURE_V1) problems.push('witness key is not a cosignature/v1 key');
  const expectedFp = relayFingerprint(id, origin, vkey.publicKey);
  // The card carries the canonical form exactly; only what a person types is normalized.
  if (fingerprint !== expectedFp) problems.push('fingerprint is not the canonical fingerprint of the log key');
  let sigBytes: Uint8Array = new Uint8Array(0);
  try {
    sigBytes = fromBase64(sig);
  } catch {
    problems.push('sig is not base64');
  }
  const base: Omit<RelayCardJson, 'sig' | 'fingerprint'> = { kind: 'relay', version: 1, id, name, url, origin, vkey: vkeyText };
  if (witnessText !== undefined) base.witness = witnessText;
  if (sigBytes.length !== 64 || !verify(vkey.publicKey, LABELS.card, signedPart(base), sigBytes)) problems.push('card signature does not verify with its log key');
  if (problems.length > 0) throw new BackchannelError('card_invalid', `invalid relay card: ${problems.join('; ')}`, { details: { problems } });
  const json: RelayCardJson = { ...base, fingerprint: expectedFp, sig };
  return { id, name, url, origin, vkey, fingerprint: expectedFp, witness, json };
}

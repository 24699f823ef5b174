/**
 * The common outer layer of card files (attacker-controlled JSON): size, syntax, an object of
 * the expected kind and version. What the card says is checked by each card's own parser.
 */
import { BackchannelError } from '../errors.js';

export function readCardObject(input: unknown, kind: 'party' | 'relay', maxChars: number): Record<string, unknown> {
  let obj: unknown = input;
  if (typeof input === 'string') {
    if (input.length > maxChars) throw new BackchannelError('too_large', 'card file is too large');
    try {
      obj = JSON.parse(input);
    } catch (cause) {
      throw new BackchannelError('card_invalid', 'card is not valid JSON', { cause });
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new BackchannelError('card_invalid', 'card is not a JSON object');
  const c = obj as Record<string, unknown>;
  if (c.kind !== kind) throw new BackchannelError('card_invalid', `card kind is ${JSON.stringify(c.kind)}, not "${kind}"`);
  if (c.version !== 1) throw new BackchannelError('version_unsupported', `${kind} card version ${JSON.stringify(c.version)} is not supported`);
  return c;
}

/**
 * Context labels. Every Backchannel signature covers `label || 0x00 || message`, so a
 * signature made for one purpose can never be replayed as another (DESIGN.md, "Signatures
 * and labels"). The 0x00 separator makes the prefix unambiguous; no label contains it, and
 * no C2SP note text (which forbids control characters) can begin with one of these prefixes.
 */
export const LABELS = {
  envelope: 'backchannel/v1/envelope', // the sending station's outer signature
  content: 'backchannel/v1/content', // the signer's signature over header digest and content
  signer: 'backchannel/v1/signer', // a root's certificate of a signer key
  submit: 'backchannel/v1/submit', // a station's submission token
  receipt: 'backchannel/v1/receipt', // a relay's integration promise (deferred-merge relays)
  delivery: 'backchannel/v1/delivery', // a relay's delivery record
  ack: 'backchannel/v1/ack', // a desk's acknowledgement of a fetched copy
  request: 'backchannel/v1/request', // a station's signed HTTP request
  bundle: 'backchannel/v1/bundle', // a root-signed key bundle
  statement: 'backchannel/v1/statement', // a relay's transmission statement
  card: 'backchannel/v1/card', // a relay's self-signed card (url, name) under its log key
  leaf: 'backchannel/v1/leaf', // domain of log-leaf commitments (hashed, never signed)
} as const;

export type Label = (typeof LABELS)[keyof typeof LABELS];

/**
 * Identifier grammars. Ids appear in headers, log origins, file names and URLs, so they are
 * plain lowercase ASCII: no confusables, nothing that needs escaping.
 */
export const PARTY_ID_RE = /^[a-z][a-z0-9-]{0,31}$/;
export const RELAY_ID_RE = PARTY_ID_RE;
/** Signer and station ids: offices such as "mfa.minister" or desks such as "desk-2". */
export const KEY_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Display names and titles: printable, no control characters, bounded. */
export const DISPLAY_RE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]{1,200}$/u;

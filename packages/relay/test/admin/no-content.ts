/**
 * The "metadata only" check shared by the admin tests: a response must contain neither the
 * plaintext marker nor any run of an envelope's bytes, in hex, base64 or base64url.
 */
import { toBase64, toBase64Url, toHex } from '@backchannel/core';

/** Bytes in a run: any 18 consecutive bytes of an envelope found in a response fails the check. */
const RUN = 18;

/**
 * Every encoding of every RUN-byte window of `bytes`. Base64 of a longer slice that starts at
 * byte j contains base64 of each window starting at k ≡ j (mod 3) inside it, so covering every
 * k covers every alignment.
 */
export function encodedRuns(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let k = 0; k + RUN <= bytes.length; k++) {
    const w = bytes.subarray(k, k + RUN);
    out.push(toHex(w), toBase64(w), toBase64Url(w));
  }
  return out;
}

/** Problems found in one response: the marker, or an envelope run. */
export function contentLeaks(text: string, markers: readonly string[], runs: readonly string[]): string[] {
  const problems: string[] = [];
  for (const m of markers) if (text.includes(m)) problems.push(`marker ${m}`);
  const lower = text.toLowerCase();
  for (const r of runs) {
    // Hex may be upper-case; base64 is case-sensitive.
    if (/^[0-9a-f]+$/.test(r) ? lower.includes(r) : text.includes(r)) {
      problems.push(`envelope bytes (${r.slice(0, 12)}…)`);
      break;
    }
  }
  return problems;
}

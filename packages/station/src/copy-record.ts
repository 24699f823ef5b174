/**
 * The record of a copy's first delivery on a channel, before it is acknowledged: one shape for
 * note copies (receive-copy.ts) and key shares (key-share.ts).
 */
import type { FetchItem } from './relay-wire.js';
import type { CopyRecord } from './store/types.js';

export function firstCopy(
  at: { from: string; id: string; relay: string; digest: Uint8Array; receivedAt: number },
  item: FetchItem,
  check: { logIndex: number | undefined; valid: boolean; errorCode: string | undefined },
): CopyRecord {
  return {
    ...at,
    seq: item.seq,
    token: item.token,
    receipt: item.receipt,
    ...check,
    envelope: undefined,
    copyAck: undefined,
    deliveryRecord: undefined,
    deliveryReceipt: undefined,
    ackedAt: undefined,
    redeliveries: 0,
  };
}

/** The wire form of fetched envelopes and delivery records, shared by pull routes and push frames. */
import type { CborMap } from '@backchannel/core';
import type { DeskItem, StoredDelivery } from '../store/relay-store.js';

export function fetchItem(it: DeskItem): CborMap {
  const e = it.envelope;
  return { seq: it.seq, envelope: e.bytes, token: e.token, receipt: e.receipt, received: e.received };
}

/** A delivery record's cursor is its own leaf index: unique, increasing, the same for every desk. */
export function deliveryItem(d: StoredDelivery): CborMap {
  return { seq: d.index, record: d.record, receipt: d.receipt };
}

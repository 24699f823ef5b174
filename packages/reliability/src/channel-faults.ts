/**
 * The channel-fault matrix (issue 8, scenario 1), as data: each fault, how it is staged at a
 * relay's proxy, and which alerts it must raise against that relay. Shared by the test and the
 * soak, which injects the same faults periodically.
 */
import type { FaultProxy } from '@backchannel/faults';
import type { AlertKind } from '@backchannel/station';

export interface ChannelFault {
  name: string;
  /** Staged before the notes are sent, or after (so the relay has given its receipts). */
  when: 'before-send' | 'after-send';
  apply(p: FaultProxy): void;
  /** Alerts raised against each faulted relay; none for faults that are not misbehaviour. */
  alerts: AlertKind[];
}

/** The recipient's side of a relay: what a relay that took a note and kept it would fail. */
const DELIVERY = /^\/v1\/(fetch|ack|push)/;

export const channelFaults: readonly ChannelFault[] = [
  // A relay that gave receipts and then swallows every fetch: the receipt, unmatched by a delivery, is the evidence.
  { name: 'drop', when: 'before-send', apply: (p) => { p.setRules([{ path: DELIVERY, fault: { kind: 'drop' } }]); }, alerts: ['drop'] },
  { name: 'delay', when: 'before-send', apply: (p) => { p.setFault({ kind: 'delay', ms: 300 }); }, alerts: [] },
  { name: 'jitter', when: 'before-send', apply: (p) => { p.setFault({ kind: 'delay', ms: 50, jitterMs: 500 }); }, alerts: [] },
  { name: 'duplicate', when: 'before-send', apply: (p) => { p.setFault({ kind: 'duplicate' }); }, alerts: [] },
  { name: 'reorder', when: 'before-send', apply: (p) => { p.setFault({ kind: 'reorder' }); }, alerts: [] },
  // Copies handed back after the desk's signed acknowledgement of them.
  { name: 'replay', when: 'before-send', apply: (p) => { p.setFault({ kind: 'replay' }); }, alerts: ['replay'] },
  // Bytes flipped on the wire in the relay's answers to the recipient: no relay signature covers them.
  { name: 'corrupt', when: 'before-send', apply: (p) => { p.setRules([{ path: DELIVERY, fault: { kind: 'corrupt' } }]); }, alerts: ['drop'] },
  { name: 'cut', when: 'before-send', apply: (p) => { p.setRules([{ path: DELIVERY, fault: { kind: 'cut' } }]); }, alerts: ['drop'] },
  // The relay took the notes, then fell off the network before the recipient came for them.
  { name: 'partition', when: 'after-send', apply: (p) => { p.partition(); }, alerts: ['drop'] },
  { name: 'alter', when: 'before-send', apply: (p) => { p.setFault({ kind: 'alter' }); }, alerts: ['invalid_copy', 'receipt_invalid'] },
];

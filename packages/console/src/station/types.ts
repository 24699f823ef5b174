/**
 * The station API's types are the station library's own view types (type-only imports: nothing
 * of the station library is bundled into the page).
 */
import type { Alert, ChannelHealthView, InboxEntry, NoteView, PartyView, Policy, SendResult, ThreadView, VerifyReport } from '@backchannel/station';

export type { Alert, ChannelHealthView, InboxEntry, NoteView, PartyView, SendResult, ThreadView, VerifyReport };

export interface Meta {
  party: string;
  title: string;
  parties: PartyView[];
  signers: { id: string; name: string; title: string; level: string }[];
  policy: Policy;
  relays: { relay: string; name: string; rank: number; primary: boolean }[];
  precedences: string[];
  categories: string[];
}

export interface InboxAnswer {
  entries: InboxEntry[];
  threads: ThreadView[];
}

export interface ChannelsAnswer {
  channels: ChannelHealthView[];
  verification: { at: number; report: VerifyReport } | null;
}

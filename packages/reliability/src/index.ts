/**
 * @backchannel/reliability — the reliability and adversarial suite's reusable parts
 * (docs/reliability.md): the world of relays behind fault proxies, the channel-fault matrix,
 * the coverage-guided fuzzer and its targets, and the soak.
 */
export { freePort } from '@backchannel/relay/testing';
export { OffsetClock, startWorld, keysOf, makeWorldParty, type World, type WorldOptions, type WorldParty, type WorldRelay } from './world.js';
export { channelFaults, type ChannelFault } from './channel-faults.js';
export { eventually, percentile } from './eventually.js';
export { rssOf } from './process-stats.js';
export { runCampaign, type CampaignOptions, type CampaignResult, type Finding } from './fuzz/campaign.js';
export { loadTargets, type FuzzTarget } from './fuzz/targets.js';
export { isTypedRejection } from './fuzz/typed.js';
export { runSoak, soakMarkdown, type SoakOptions, type SoakReport, type SoakWindow } from './soak.js';

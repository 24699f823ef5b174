/** @backchannel/faults — a fault-injecting proxy for relays, shared by the demo and the reliability suite. */
export { FaultProxy, type ProxyOptions, type ProxyStats, type RunningSchedule } from './proxy.js';
export { ruleMatches, type Fault, type FaultStep, type Rule } from './fault.js';
export { Rogue, alterEnvelope, type RogueIdentity } from './rogue.js';

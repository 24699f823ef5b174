/**
 * @backchannel/relay/testing — helpers for tests and harnesses that need a real relay: a free
 * loopback port and a relay started on it with a mandate. Not for production use.
 */
export { freePort } from './free-port.js';
export { startLoopbackRelay, type LoopbackRelay, type LoopbackRelayOptions } from './loopback-relay.js';

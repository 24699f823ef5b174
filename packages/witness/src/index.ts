/**
 * @backchannel/witness — a stand-alone C2SP tlog-witness (`backchannel witness serve`):
 * POST /add-checkpoint, durable state in its own SQLite file (WAL, synchronous=FULL), Ed25519
 * cosignature/v1 lines under a cosigning key of its own. The witness logic and its store are
 * the relay's (a relay can witness too); this package puts them on a socket alone.
 */
export { startWitness, type RunningWitness, type WitnessOptions } from './start-witness.js';

/**
 * Fastify response schemas of the admin API, one per type of types.ts. Fastify serializes each
 * response through its schema, which drops any property the schema does not name: a field
 * added by mistake to a handler's result never leaves the relay. The `Same` checks below fail
 * the type check when a schema and its type drift apart.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { PRECEDENCES } from '@backchannel/core';
import type {
  AdminCheckpoint,
  AdminCosignature,
  AdminLog,
  AdminMandate,
  AdminOverview,
  AdminStatement,
  AdminStatements,
  AdminTraffic,
} from './types.js';

const Uint = Type.Integer({ minimum: 0 });
const Int = Type.Integer();
const Str = Type.String();
const NullableUint = Type.Union([Uint, Type.Null()]);

function obj<T extends Record<string, TSchema>>(props: T): ReturnType<typeof Type.Object<T>> {
  return Type.Object(props, { additionalProperties: false });
}

const Cosignature = obj({ size: Uint, witness: Str, vkey: Str });
const Checkpoint = obj({ size: Uint, root: Str, signedAt: Int, cosignatures: Type.Array(Cosignature) });
const Witness = obj({ name: Str, vkey: Str });
const Precedence = Type.Union(PRECEDENCES.map((p) => Type.Literal(p)));

export const OverviewSchema = obj({
  relay: obj({ id: Str, name: Str, origin: Str, url: Str, fingerprint: Str }),
  now: Int,
  startedAt: Int,
  uptimeMs: Uint,
  log: obj({ size: Uint, checkpoint: Str, checkpointSize: Uint, checkpointSignedAt: Int, cosignatures: Type.Array(Cosignature) }),
  witnesses: Type.Array(Witness),
  queueDepth: Uint,
  pending: Type.Array(obj({ party: Str, envelopes: Uint, oldestReceived: Int })),
  delivery: obj({ since: Int, samples: Uint, p50Ms: NullableUint, p99Ms: NullableUint, oldestUndeliveredMs: NullableUint }),
  held: obj({ envelopes: Uint, oldestReceived: Type.Union([Int, Type.Null()]) }),
});

export const MandateSchema = obj({
  parties: Type.Array(
    obj({
      id: Str,
      name: Str,
      fingerprint: Str,
      bundleSeq: Uint,
      desks: Uint,
      allow: Type.Union([Type.Array(Str), Type.Null()]),
      statements: Type.Union([Type.Literal('forbid'), Type.Literal('count'), Type.Literal('open')]),
      updated: Int,
    }),
  ),
  pairs: Type.Array(obj({ a: Str, b: Str })),
});

export const TrafficSchema = obj({
  since: Int,
  until: Int,
  bucketMs: Uint,
  rows: Type.Array(obj({ bucket: Int, from: Str, to: Str, precedence: Precedence, envelopes: Uint, bytes: Uint })),
  heldSince: Type.Union([Int, Type.Null()]),
});

export const LogSchema = obj({
  size: Uint,
  checkpoint: Str,
  checkpoints: Type.Array(Checkpoint),
  witnesses: Type.Array(obj({ name: Str, vkey: Str, lastCosignedSize: NullableUint })),
});

const Statement = obj({
  digest: Str,
  issued: Int,
  pair: Type.Tuple([Str, Str]),
  since: Int,
  until: Int,
  count: Uint,
  checkpointSize: Uint,
  cosignatures: Uint,
  opened: obj({ precedence: Type.Boolean(), digest: Type.Boolean() }),
  requestedBy: Str,
});

export const StatementsSchema = obj({ statements: Type.Array(Statement) });

const Decimal = Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', maxLength: 16 });
export const TrafficQuery = Type.Object({ since: Type.Optional(Decimal), until: Type.Optional(Decimal), bucket: Type.Optional(Decimal) }, { additionalProperties: false });
export type TrafficQuery = Static<typeof TrafficQuery>;

// Compile-time: each schema's static type is exactly its response type.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<T extends true>(): T[] {
  return [];
}
same<Same<Static<typeof Cosignature>, AdminCosignature>>();
same<Same<Static<typeof Checkpoint>, AdminCheckpoint>>();
same<Same<Static<typeof OverviewSchema>, AdminOverview>>();
same<Same<Static<typeof MandateSchema>, AdminMandate>>();
same<Same<Static<typeof TrafficSchema>, AdminTraffic>>();
same<Same<Static<typeof LogSchema>, AdminLog>>();
same<Same<Static<typeof Statement>, AdminStatement>>();
same<Same<Static<typeof StatementsSchema>, AdminStatements>>();

/**
 * TypeBox schemas of every route's input and output (docs/relay-api.md). Station bodies are
 * deterministic CBOR maps whose byte strings are Uint8Array; they are checked with TypeBox's
 * compiler (validator.ts), and rendered as `format: binary` strings in the OpenAPI document.
 */
import { Type, type Static } from '@sinclair/typebox';

const Uint = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A decimal without leading zeroes, as the log API's query parameters (STYLE.md §4: strict grammars). */
export const DECIMAL_PATTERN = '^(0|[1-9][0-9]{0,15})$';
const Decimal = Type.String({ pattern: DECIMAL_PATTERN, maxLength: 16 });

export const ErrorResponse = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }) },
  { additionalProperties: false, $id: 'Error' },
);

// ── Station routes (application/cbor) ───────────────────────────────────────────────────

export const SubmitBody = Type.Object(
  { envelope: Type.Uint8Array({ maxByteLength: 4 * 1024 * 1024 }), token: Type.Uint8Array({ maxByteLength: 1024 }) },
  { additionalProperties: false },
);
export type SubmitBody = Static<typeof SubmitBody>;
export const SubmitResponse = Type.Object({ index: Uint, receipt: Type.String(), duplicate: Type.Boolean() }, { additionalProperties: false });

export const BundleBody = Type.Object({ bundle: Type.Uint8Array({ maxByteLength: 512 * 1024 }) }, { additionalProperties: false });
export type BundleBody = Static<typeof BundleBody>;
export const BundlePostResponse = Type.Object({ party: Type.String(), seq: Uint }, { additionalProperties: false });
export const BundleGetResponse = Type.Object({ bundle: Type.Uint8Array() }, { additionalProperties: false });
export const PartyParams = Type.Object({ party: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }) }, { additionalProperties: false });
export type PartyParams = Static<typeof PartyParams>;

export const PageBody = Type.Object({ after: Uint, limit: Type.Integer({ minimum: 1, maximum: 500 }) }, { additionalProperties: false });
export type PageBody = Static<typeof PageBody>;

export const FetchItem = Type.Object(
  { seq: Uint, envelope: Type.Uint8Array(), token: Type.Uint8Array(), receipt: Type.String(), received: Uint },
  { additionalProperties: false },
);
export const FetchResponse = Type.Object({ items: Type.Array(FetchItem), next: Uint, more: Type.Boolean() }, { additionalProperties: false });

export const AckBody = Type.Object({ acks: Type.Array(Type.Uint8Array({ maxByteLength: 1024 }), { minItems: 1, maxItems: 500 }) }, { additionalProperties: false });
export type AckBody = Static<typeof AckBody>;
export const AckResponse = Type.Object(
  { records: Type.Array(Type.Object({ record: Type.Uint8Array(), receipt: Type.String() }, { additionalProperties: false })) },
  { additionalProperties: false },
);

export const DeliveryItem = Type.Object({ seq: Uint, record: Type.Uint8Array(), receipt: Type.String() }, { additionalProperties: false });
export const DeliveriesResponse = Type.Object({ items: Type.Array(DeliveryItem), next: Uint, more: Type.Boolean() }, { additionalProperties: false });

export const PushFrame = Type.Union([
  Type.Object({ type: Type.Literal('envelope'), item: FetchItem }),
  Type.Object({ type: Type.Literal('delivery'), item: DeliveryItem }),
  Type.Object({ type: Type.Literal('ping'), time: Uint }),
]);

// ── The log API (JSON, text) ────────────────────────────────────────────────────────────

export const InclusionQuery = Type.Object({ leaf_index: Decimal, tree_size: Decimal }, { additionalProperties: false });
export type InclusionQuery = Static<typeof InclusionQuery>;
export const InclusionResponse = Type.Object(
  { leaf_index: Uint, tree_size: Uint, inclusion_path: Type.Array(Type.String({ contentEncoding: 'base64' })) },
  { additionalProperties: false },
);
export const ConsistencyQuery = Type.Object({ first: Decimal, second: Decimal }, { additionalProperties: false });
export type ConsistencyQuery = Static<typeof ConsistencyQuery>;
export const ConsistencyResponse = Type.Object({ consistency_path: Type.Array(Type.String({ contentEncoding: 'base64' })) }, { additionalProperties: false });
export const EntriesQuery = Type.Object({ start: Decimal, end: Decimal }, { additionalProperties: false });
export type EntriesQuery = Static<typeof EntriesQuery>;
export const EntriesResponse = Type.Object({ entries: Type.Array(Type.String({ contentEncoding: 'base64' })) }, { additionalProperties: false });
export const TileParams = Type.Object({ '*': Type.String({ maxLength: 64 }) });
export type TileParams = Static<typeof TileParams>;

// ── Operations ──────────────────────────────────────────────────────────────────────────

export const HealthResponse = Type.Object({ status: Type.String() }, { additionalProperties: false });
export const ReadyResponse = Type.Object({ status: Type.String(), size: Uint }, { additionalProperties: false });
export const CardResponse = Type.Object(
  {
    kind: Type.Literal('relay'),
    version: Type.Literal(1),
    id: Type.String(),
    name: Type.String(),
    url: Type.String(),
    origin: Type.String(),
    vkey: Type.String(),
    fingerprint: Type.String(),
    witness: Type.Optional(Type.String()),
    sig: Type.String(),
  },
  { additionalProperties: false },
);

/**
 * @backchannel/core — the Backchannel protocol core: envelopes, identities, receipts,
 * statements and the transparency log. Pure functions over bytes, no I/O; the relay, the
 * station, the CLI and the console build on it, and so can a third party that only wants to
 * verify a receipt, a checkpoint or a statement. The specification is docs/protocol.md.
 *
 * Explicit named exports only: this list is the public API.
 */

// Errors
export { BackchannelError, ERROR_CODES, isBackchannelError, type ErrorCode } from './errors.js';

// Encoding, bytes, hashing, randomness
export { decodeCbor, encodeCbor, type CborMap, type CborValue } from './cbor.js';
export { cborBytes, cborHead, cborText } from './cbor-direct.js';
export { concatBytes, equalBytes, fromBase64, fromBase64Url, fromHex, fromUtf8, toBase64, toBase64Url, toHex, utf8 } from './bytes.js';
export { sha256 } from './hash.js';
export { systemRandom, deterministicRandomForTests, type Random } from './random.js';
export { BoundedCache, cachingStatements, type PreparingDatabase } from './bounded-cache.js';

// Signatures
export { Ed25519Key, isStrictPublicKey, verify, verifyRaw } from './ed25519.js';
export { LABELS, type Label } from './labels.js';
export { openSigned, signStructure, signatureInvalid, type Opened, type SignedWrapper } from './signed.js';

// Secrets at rest
export { DEFAULT_SCRYPT, MIN_SCRYPT_N, decryptSecret, encryptSecret, type ScryptParams } from './secrets/keystore.js';

// Identities
export {
  ATTRIBUTION_LEVELS,
  SUITE_NAMES,
  acceptBundle,
  assertNotRevoked,
  currentEncryptionKey,
  findRevocation,
  findStation,
  negotiateSuite,
  openBundle,
  signBundle,
  type AttributionLevel,
  type EncryptionKeyEntry,
  type KeyBundle,
  type Revocation,
  type SignedBundle,
  type SignerEntry,
  type StationEntry,
  type DeskKeyEntry,
  type SuiteName,
} from './identity/bundle.js';
export { certifySigner, openSignerCertificate, verifySignerCertificate, type SignerCertificate } from './identity/certificate.js';
export { fingerprintsEqual, normalizeFingerprint, partyFingerprint, relayFingerprint } from './identity/fingerprint.js';
export { DISPLAY_RE, KEY_ID_RE, PARTY_ID_RE, RELAY_ID_RE } from './identity/ids.js';
export { parsePartyCard, partyCardJson, type PartyCard, type PartyCardJson } from './identity/party-card.js';
export { deriveOrigin, makeRelayCard, parseRelayCard, type RelayCard, type RelayCardJson } from './identity/relay-card.js';
export {
  ENCRYPTION_KEY_LIFETIME_MS,
  SIGNER_LIFETIME_MS,
  createParty,
  newEncryptionKey,
  type EncryptionSecret,
  type NewParty,
  type SignerSecret,
  type SignerSpec,
} from './identity/party-keys.js';

// HPKE (RFC 9180) suites and keys
export { SUITES, SUITE_X25519, SUITE_XWING, suiteFromIds, suiteFromName, type Suite } from './hpke/suite.js';
export {
  HpkePrivateKey,
  HpkePublicKey,
  deriveKeyPair,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  serializePrivateKey,
  serializePublicKey,
  type HpkeKeyPair,
} from './hpke/keys.js';
export { openFrom, sealTo, type Sealed } from './hpke/seal.js';

// Envelopes
export { DEFAULT_OBJECTIVE_MS, PRECEDENCES, parsePrecedence, precedenceCode, precedenceFromCode, type Precedence } from './envelope/precedence.js';
export { MAX_ENVELOPE_BYTES, SIZE_BUCKETS, bucketFor } from './envelope/size-bucket.js';
export { decodeHeader, encodeHeader, type EnvelopeHeader } from './envelope/header.js';
export {
  CATEGORIES,
  CONTENT_KINDS,
  decodeContent,
  encodeContent,
  type AckContent,
  type AckEntry,
  type Attachment,
  type BundleContent,
  type KeysContent,
  type Category,
  type Content,
  type ContentKind,
  type HeartbeatContent,
  type NoteContent,
  type NoteRef,
  type ReadContent,
} from './envelope/content.js';
export {
  contentSignedParts,
  encryptionKeyId,
  envelopeSignedParts,
  openEnvelope,
  parseEnvelope,
  sealEnvelope,
  verifyContentSignature,
  verifyEnvelopeStation,
  type InspectedEnvelope,
  type OpenContext,
  type OpenedEnvelope,
  type SealParams,
  type SealedEnvelope,
  type Signer,
} from './envelope/envelope.js';

// Protocol messages
export { REQUEST_WINDOW_MS, TOKEN_WINDOW_MS, checkFreshness } from './messages/freshness.js';
export { checkSubmissionToken, digestCommitment, openSubmissionToken, openVerifiedSubmissionToken, readSubmissionTokenWrapper, signSubmissionToken, type SubmissionToken } from './messages/submission-token.js';
export { REQUEST_HEADER, checkRequest, openRequest, signRequest, type SignedRequest } from './messages/request.js';
export { openCopyAck, openVerifiedCopyAck, readCopyAckWrapper, signCopyAck, type CopyAck } from './messages/copy-ack.js';
export { openDeliveryRecord, signDeliveryRecord, type DeliveryRecord } from './messages/delivery-record.js';
export {
  LEAF_FIELDS,
  RECORD_TYPES,
  WINDOW_MS,
  checkOpening,
  commitLeaf,
  decodeOpening,
  encodeOpening,
  leafFieldValues,
  leafFromPartial,
  leafHashConstants,
  openFields,
  type LeafField,
  type LeafOpening,
  type LeafRecord,
  type PartialOpening,
  type RecordType,
} from './messages/commitment.js';
export {
  formatReceipt,
  isPromiseBroken,
  openIntegrationPromise,
  signIntegrationPromise,
  verifyReceipt,
  type IntegrationPromise,
  type VerifiedReceipt,
} from './messages/receipt.js';
export { signStatement, statementFields, verifyStatement, type StatementBody, type StatementRecord, type VerifiedStatement } from './messages/statement.js';

// Transparency log: RFC 9162 Merkle tree and C2SP formats
export {
  EMPTY_FRONTIER,
  EMPTY_ROOT,
  HASH_SIZE,
  appendLeaves,
  consistencyNodes,
  emptyRoot,
  frontierFromHashes,
  frontierNodeIds,
  hashChildren,
  hashLeaf,
  inclusionNodes,
  rehashProof,
  rootFromInclusionProof,
  rootOf,
  verifyConsistency,
  verifyInclusion,
  decodeEntryBundle,
  decodeTile,
  encodeEntryBundle,
  encodeTile,
  entryBundleRange,
  formatTileIndex,
  parseTilePath,
  tileInTree,
  tileNodeRange,
  tilePath,
  tilesForSize,
  MAX_TILE_LEVEL,
  TILE_HEIGHT,
  TILE_WIDTH,
  type EntryBundle,
  type HashTile,
  type Tile,
  type TileLevel,
  type CompletedNode,
  type Frontier,
  type NodeId,
  type ProofNodes,
} from './merkle/index.js';
export {
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  cosignCheckpoint,
  createNoteSigner,
  createNoteVerifier,
  createVkey,
  deriveVkey,
  formatAddCheckpointRequest,
  formatCheckpoint,
  formatTlogProof,
  formatVkey,
  openCheckpoint,
  openNote,
  parseAddCheckpointRequest,
  parseCheckpoint,
  parseTlogProof,
  parseVkey,
  signCheckpoint,
  signNote,
  verifyCosignature,
  verifyCosignatures,
  verifyTlogProof,
  type AddCheckpointRequest,
  type Checkpoint,
  type Cosignature,
  type NoteSignature,
  type OpenedCheckpoint,
  type OpenedNote,
  type TlogProof,
  type Vkey,
} from './note/index.js';

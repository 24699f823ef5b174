/** C2SP note formats: signed notes, vkeys, checkpoints, cosignatures, tlog-proofs, witness requests. Pure, no I/O. */
export {
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  computeKeyId,
  createVkey,
  deriveVkey,
  formatKeyId,
  formatVkey,
  isValidKeyName,
  parseVkey,
  type SignatureType,
  type Vkey,
} from './vkey.js';
export {
  MAX_NOTE_SIGNATURES,
  createNoteSigner,
  createNoteVerifier,
  formatNote,
  formatSignatureLine,
  openNote,
  parseSignatureLines,
  signNote,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
} from './signed-note.js';
export {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type OpenedCheckpoint,
} from './checkpoint.js';
export {
  COSIGNATURE_V1_HEADER,
  COSIGNATURE_V1_LENGTH,
  cosignCheckpoint,
  createCosignatureVerifier,
  decodeCosignature,
  encodeCosignature,
  encodeCosignedMessage,
  verifyCosignature,
  verifyCosignatures,
  type Cosignature,
} from './cosignature.js';
export {
  MAX_PROOF_HASHES,
  TLOG_PROOF_HEADER,
  formatTlogProof,
  parseTlogProof,
  verifyTlogProof,
  type TlogProof,
  type VerifiedTlogProof,
} from './tlog-proof.js';
export {
  MAX_CONSISTENCY_PROOF_LINES,
  formatAddCheckpointRequest,
  parseAddCheckpointRequest,
  type AddCheckpointRequest,
} from './witness-request.js';

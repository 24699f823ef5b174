/** What the demo reports (`backchannel demo --json` prints a `DemoReport`). Times are ms. */

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

/** One channel of one note, as its sender saw it. Latencies are from the submission's start. */
export interface ChannelFigure {
  relay: string;
  role: 'chosen' | 'failover';
  log_index: number | null;
  /** Submission started → verified receipt. */
  receipt_ms: number | null;
  /** Submission started → the relay's signed delivery record (the recipient's desk took the copy). */
  delivered_ms: number | null;
  /** Submission started → the recipient's end-to-end acknowledgement came back through this channel. */
  acked_ms: number | null;
  error: string | null;
}

export interface CopyFigure {
  relay: string;
  valid: boolean;
  digest: string;
  /** Note created → this copy arrived at the recipient's desk. */
  arrival_ms: number;
}

export interface NoteFigure {
  label: string;
  id: string;
  from: string;
  to: string;
  precedence: string;
  category: string | null;
  subject: string;
  /** Relays asked first. */
  via: string[];
  attribution: string | null;
  attribution_level: string | null;
  /** The precedence's delivery objective, after time scaling. */
  objective_ms: number;
  channels: ChannelFigure[];
  failures: { relay: string; code: string }[];
  failover: { relay: string; reason: string }[];
  copies: CopyFigure[];
  /** Every valid copy byte-identical and none invalid. */
  consistent: boolean;
  /** Note created → first valid copy at the recipient. */
  first_arrival_ms: number | null;
  /** Submission started → first delivery record, over every channel. */
  first_delivered_ms: number | null;
  within_objective: boolean;
  status: string;
}

export interface AlertFigure {
  id: number;
  station: string;
  kind: string;
  relay: string | null;
  party: string | null;
  note: string | null;
  message: string;
  /** The names of the evidence's fields (the evidence itself stays in the station's archive). */
  evidence: string[];
}

export interface StatementFigure {
  relay: string;
  pair: [string, string];
  since: number;
  until: number;
  count: number;
  by_direction: Record<string, number>;
  checkpoint_size: number;
  /** verifyStatement with only the relay's card and the parties' bundles. */
  verified: boolean;
  error?: string;
}

export interface WitnessFigure {
  witness: string;
  log: string;
  checkpoint_size: number;
  /** Cosignatures verified under the witness's vkey (from its card). */
  cosignatures: number;
  verified: boolean;
  /** The same on the checkpoint the relay serves now (GET /checkpoint). */
  live_checkpoint_size: number | null;
  live_verified: boolean;
  error?: string;
}

export interface StepReport {
  step: number;
  title: string;
  passed: boolean;
  duration_ms: number;
  checks: Check[];
  notes: NoteFigure[];
  alerts: AlertFigure[];
  statement?: StatementFigure;
  witness?: WitnessFigure;
  error?: string;
}

export interface DemoReport {
  passed: boolean;
  started_at: number;
  duration_ms: number;
  time_scale: number;
  world: {
    dir: string;
    relays: { id: string; name: string; url: string; direct_url: string; pid: number; origin: string; fingerprint: string }[];
    parties: { id: string; name: string; fingerprint: string }[];
    witness: string;
  };
  steps: StepReport[];
  summary: {
    notes: number;
    flash_notes: { id: string; step: number; objective_ms: number; first_arrival_ms: number | null; within_objective: boolean }[];
    alerts: AlertFigure[];
  };
  error?: string;
}

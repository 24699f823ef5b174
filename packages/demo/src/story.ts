/**
 * The reference story (PRODUCT.md, issue 5), played on a World: six steps, each with its checks
 * and measured figures. Every figure comes from what the stations recorded (receipts, relay-
 * signed delivery records, end-to-end acknowledgements) and from the relays' logs.
 */
import { fromBase64, openDeliveryRecord, parseRelayCard, parseVkey, sha256, toHex, verifyCosignatures, verifyStatement, openCheckpoint } from '@backchannel/core';
import type { Alert, NoteView, SendRequest, SendResult, Station } from '@backchannel/station';
import type { AlertFigure, ChannelFigure, NoteFigure, StepReport } from './report.js';
import type { RelayId, World } from './world.js';

export interface Emit {
  /** A line of the timeline (prefixed with the elapsed time by the caller). */
  line(text: string): void;
}

const POLL_MS = 150;
const WAIT_MS = 20_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Syncs the desks and polls until `cond` holds (or fails after WAIT_MS). */
async function until<T>(what: string, desks: Station[], probe: () => Promise<T | undefined>, signal: AbortSignal | undefined): Promise<T> {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    if (signal?.aborted === true) throw new Error('the demo was interrupted');
    for (const d of desks) await d.sync();
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

const ms = (n: number | null): string => (n === null ? '—' : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(2)} s`);

export class Story {
  readonly #w: World;
  readonly #out: Emit;
  readonly #signal: AbortSignal | undefined;
  readonly #seenAlerts = new Set<string>();
  readonly started = Date.now();

  constructor(world: World, out: Emit, signal: AbortSignal | undefined) {
    this.#w = world;
    this.#out = out;
    this.#signal = signal;
  }

  get #us(): Station {
    return this.#w.party('us').station;
  }

  get #ir(): Station {
    return this.#w.party('ir').station;
  }

  #say(text: string): void {
    this.#out.line(text);
  }

  async #send(from: Station, label: string, req: SendRequest): Promise<SendResult> {
    const r = await from.send(req);
    const via = req.via?.join(', ') ?? 'policy';
    this.#say(`  ${from.party} → ${req.to}  ${req.precedence} "${req.subject}" via ${via}  (id ${r.id.slice(0, 8)}…, ${label})`);
    for (const f of r.failures) this.#say(`    ✗ ${f.relay}: submission failed (${f.code})`);
    for (const f of r.failover) this.#say(`    ↪ failover to ${f.relay}: ${f.reason}`);
    for (const x of r.receipts) this.#say(`    ✓ receipt from ${x.relay}, log index ${x.log_index}`);
    return r;
  }

  /** The figures of a note, from its sender's and its recipient's desks. */
  async #figure(label: string, sender: Station, recipient: Station, sent: SendResult, via: string[]): Promise<NoteFigure> {
    const out = await sender.show(sent.id);
    const inn = await recipient.show(sent.id, { from: sender.party }).catch(() => undefined);
    const channels: ChannelFigure[] = out.channels.map((c) => ({
      relay: c.relay,
      role: c.role,
      log_index: c.log_index,
      receipt_ms: c.submitted_at === null ? null : c.submitted_at - c.started_at,
      delivered_ms: c.delivered_at === null ? null : Math.max(0, c.delivered_at - c.started_at),
      acked_ms: c.acked_at === null ? null : c.acked_at - c.started_at,
      error: c.error === null ? null : c.error.code,
    }));
    const copies = (inn?.copies ?? []).map((c) => ({ relay: c.relay, valid: c.valid, digest: c.digest, arrival_ms: c.received_at - out.created }));
    const arrivals = copies.filter((c) => c.valid).map((c) => c.arrival_ms);
    const delivered = channels.map((c) => c.delivered_ms).filter((x): x is number => x !== null);
    const objective = sent.deadline - out.created;
    const firstArrival = arrivals.length === 0 ? null : Math.min(...arrivals);
    return {
      label,
      id: sent.id,
      from: out.from,
      to: out.to,
      precedence: out.precedence,
      category: out.category,
      subject: out.subject,
      via,
      attribution: inn?.attribution?.text ?? out.attribution?.text ?? null,
      attribution_level: inn?.attribution?.level ?? out.attribution?.level ?? null,
      objective_ms: objective,
      channels,
      failures: sent.failures.map((f) => ({ relay: f.relay, code: f.code })),
      failover: sent.failover,
      copies,
      consistent: inn?.consistent ?? false,
      first_arrival_ms: firstArrival,
      first_delivered_ms: delivered.length === 0 ? null : Math.min(...delivered),
      within_objective: firstArrival !== null && firstArrival <= objective,
      status: out.status,
    };
  }

  #printNote(n: NoteFigure): void {
    this.#say(`  ▸ ${n.precedence} "${n.subject}" ${n.from} → ${n.to}: objective ${ms(n.objective_ms)}, first copy at the recipient after ${ms(n.first_arrival_ms)} ${n.within_objective ? '(within objective)' : '(OBJECTIVE MISSED)'}`);
    for (const c of n.channels) {
      const role = c.role === 'failover' ? ' [failover]' : '';
      if (c.error !== null && c.receipt_ms === null) {
        this.#say(`      ${c.relay.padEnd(3)}${role} submission failed: ${c.error}`);
        continue;
      }
      this.#say(`      ${c.relay.padEnd(3)}${role} receipt ${ms(c.receipt_ms)} · delivered ${ms(c.delivered_ms)} · end-to-end ack ${ms(c.acked_ms)}`);
    }
    if (n.copies.length > 0) {
      const copies = n.copies.map((c) => `${c.relay}${c.valid ? '' : ' (INVALID)'} ${ms(c.arrival_ms)}`).join(', ');
      this.#say(`      copies at ${n.to}: ${copies} — ${n.consistent ? 'all identical' : 'NOT consistent'}`);
    }
    if (n.attribution !== null) this.#say(`      signed: ${n.attribution}`);
  }

  async #newAlerts(): Promise<AlertFigure[]> {
    const out: AlertFigure[] = [];
    for (const [name, st] of [['us', this.#us], ['ir', this.#ir]] as const) {
      for (const a of await st.alerts()) {
        const key = `${name}/${a.id}`;
        if (this.#seenAlerts.has(key)) continue;
        this.#seenAlerts.add(key);
        out.push(alertFigure(name, a));
        this.#say(`  ⚠ ALERT at ${name}: ${a.kind}${a.relay === undefined ? '' : ` (relay ${a.relay})`} — ${a.message}`);
      }
    }
    return out;
  }

  /** Runs one step: its body fills the report; a throw fails the step with the error. */
  async step(n: number, title: string, body: (r: StepReport, check: (name: string, ok: boolean, detail?: string) => void) => Promise<void>): Promise<StepReport> {
    const r: StepReport = { step: n, title, passed: false, duration_ms: 0, checks: [], notes: [], alerts: [] };
    const t0 = Date.now();
    this.#say('');
    this.#say(`STEP ${n}  ${title}`);
    const check = (name: string, ok: boolean, detail?: string): void => {
      r.checks.push({ name, ok, ...(detail === undefined ? {} : { detail }) });
      this.#say(`  ${ok ? '✔' : '✘'} ${name}${detail === undefined ? '' : ` — ${detail}`}`);
    };
    try {
      await body(r, check);
    } catch (e) {
      r.error = e instanceof Error ? e.message : String(e);
      this.#say(`  ✘ step failed: ${r.error}`);
    }
    try {
      r.alerts.push(...(await this.#newAlerts()));
    } catch {
      // the alerts are informative; the checks decide
    }
    r.duration_ms = Date.now() - t0;
    r.passed = r.error === undefined && r.checks.length > 0 && r.checks.every((c) => c.ok);
    this.#say(`  → step ${n} ${r.passed ? 'PASSED' : 'FAILED'} in ${ms(r.duration_ms)}`);
    return r;
  }

  async play(): Promise<StepReport[]> {
    const steps: StepReport[] = [];
    const us = this.#us;
    const ir = this.#ir;
    const sig = this.#signal;
    const abort = (): void => {
      if (sig?.aborted === true) throw new Error('the demo was interrupted');
    };
    let flashId = '';

    steps.push(
      await this.step(1, 'us sends a FLASH note through ch: do not escalate; ir reads it, and the thread continues', async (r, check) => {
        const sent = await this.#send(us, 'signed by the Secretary of State', {
          to: 'ir', precedence: 'FLASH', category: 'security', subject: 'Restraint', signer: 'secretary', via: ['ch'],
          body: 'The United States does not seek further escalation. We urge restraint on all sides.',
        });
        flashId = sent.id;
        check('receipt from ch', sent.receipts.some((x) => x.relay === 'ch'));
        const got = await until('the FLASH note at ir', [ir], async () => {
          const n = await ir.show(sent.id, { from: 'us' });
          return n.copies.some((c) => c.valid) ? n : undefined;
        }, sig);
        this.#say(`  ir received "${got.subject}" through ${got.copies.map((c) => c.relay).join(', ')}: "${got.body}"`);
        check('ir reads the note as sent', got.body.startsWith('The United States does not seek further escalation'));
        check('attribution: a named official', got.attribution?.level === 'official' && got.attribution.signer === 'secretary', got.attribution?.text);
        await ir.markRead(sent.id, { from: 'us', receipt: true });
        this.#say('  ir marked it read (sealed read receipt sent back through ch)');
        const reply = await this.#send(ir, 'reply, thread continues', {
          to: 'us', precedence: 'IMMEDIATE', category: 'security', subject: 'Re: Restraint', signer: 'minister', via: ['ch'], replyTo: sent.id,
          body: 'Message received. The Islamic Republic will respond only if attacked again.',
        });
        await until('the reply at us and the FLASH acknowledged', [us], async () => {
          const f = await us.show(sent.id);
          const rp = await us.show(reply.id, { from: 'ir' });
          return f.channels.some((c) => c.acked_at !== null && c.delivered_at !== null) && rp.copies.length > 0 ? true : undefined;
        }, sig);
        await until('the reply acknowledged at ir', [ir], async () => ((await ir.show(reply.id)).channels.some((c) => c.delivered_at !== null && c.acked_at !== null) ? true : undefined), sig);
        const thread = await us.thread(sent.id);
        this.#say(`  thread "${thread.subject}" at us: ${thread.notes.map((x) => `${x.from}: ${x.subject}`).join(' → ')}`);
        check('the reply joins the thread', thread.notes.length === 2 && thread.notes[1]?.id === reply.id);
        const fig = await this.#figure('FLASH restraint', us, ir, sent, ['ch']);
        const figReply = await this.#figure('reply', ir, us, reply, ['ch']);
        r.notes.push(fig, figReply);
        this.#printNote(fig);
        this.#printNote(figReply);
        check('FLASH delivered within its objective', fig.within_objective, `${ms(fig.first_arrival_ms)} of ${ms(fig.objective_ms)}`);
        check('us sees the note delivered and acknowledged', fig.status === 'acknowledged' || fig.status === 'read', fig.status);
      }),
    );
    abort();

    steps.push(
      await this.step(2, 'routine consular traffic goes through ch meanwhile', async (r, check) => {
        const a = await this.#send(us, 'consular', {
          to: 'ir', precedence: 'ROUTINE', category: 'consular', subject: 'Consular visit, case 4411', signer: 'department',
          body: 'The family of a detained U.S. national requests a consular visit by the protecting power.',
        });
        const b = await this.#send(ir, 'consular', {
          to: 'us', precedence: 'ROUTINE', category: 'consular', subject: 'Visa renewals for the interests section', signer: 'institution',
          body: 'Three visa renewals for staff of the interests section in Washington are pending.',
        });
        await until('both routine notes delivered and acknowledged', [ir, us], async () => {
          const x = await us.show(a.id);
          const y = await ir.show(b.id);
          return [x, y].every((n) => n.channels.some((c) => c.delivered_at !== null && c.acked_at !== null)) ? true : undefined;
        }, sig);
        for (const [s, from, to, label] of [[a, us, ir, 'consular us→ir'], [b, ir, us, 'consular ir→us']] as const) {
          const f = await this.#figure(label, from, to, s, ['ch']);
          r.notes.push(f);
          this.#printNote(f);
          check(`${label} through the primary channel ch only`, f.channels.length === 1 && f.channels[0]?.relay === 'ch' && f.copies.every((c) => c.relay === 'ch'));
          check(`${label} delivered within its objective`, f.within_objective, `${ms(f.first_arrival_ms)} of ${ms(f.objective_ms)}`);
        }
      }),
    );
    abort();

    steps.push(
      await this.step(3, 'ir sends "retaliation has concluded" through ch, om and qa at once, signed institutionally', async (r, check) => {
        const sent = await this.#send(ir, 'institutional, no named official', {
          to: 'us', precedence: 'IMMEDIATE', category: 'security', subject: 'Retaliation has concluded', signer: 'institution', via: ['ch', 'om', 'qa'],
          body: 'The retaliation has concluded. The Islamic Republic does not seek escalation or war.',
        });
        check('three receipts', ['ch', 'om', 'qa'].every((id) => sent.receipts.some((x) => x.relay === id)), sent.receipts.map((x) => x.relay).join(', '));
        const got = await until('three copies at us', [us], async () => {
          const n = await us.show(sent.id, { from: 'ir' });
          return n.copies.length >= 3 ? n : undefined;
        }, sig);
        check('us holds three copies, every one valid and identical', got.copies.length === 3 && got.copies.every((c) => c.valid && c.digest === got.digest) && got.consistent, `consistent: ${got.consistent}`);
        check('the attribution says: the institution, no named official', got.attribution?.level === 'institutional', got.attribution?.text);
        await until('the acknowledgement back at ir through every channel', [ir], async () => {
          const n = await ir.show(sent.id);
          return n.channels.length === 3 && n.channels.every((c) => c.acked_at !== null && c.delivered_at !== null) ? n : undefined;
        }, sig);
        const f = await this.#figure('retaliation has concluded', ir, us, sent, ['ch', 'om', 'qa']);
        r.notes.push(f);
        this.#printNote(f);
        check('the end-to-end acknowledgement reached ir through ch, om and qa', f.channels.every((c) => c.acked_ms !== null) && f.channels.length === 3);
      }),
    );
    abort();

    steps.push(
      await this.step(4, 'ch publishes a signed statement that several messages passed between us and ir; om witnesses its checkpoint', async (r, check) => {
        const ch = this.#w.relay('ch');
        const chCard = parseRelayCard(ch.card);
        const witness = parseVkey(this.#w.witnessVkey);
        const since = this.started - 60_000;
        // ch offers each checkpoint to om's witness after the commit; wait for a cosigned one.
        let produced = await this.#w.statement('ch', ['us', 'ir'], since, Date.now() + 1);
        const end = Date.now() + WAIT_MS;
        while (produced.cosignatures === 0 && Date.now() < end) {
          await sleep(250);
          produced = await this.#w.statement('ch', ['us', 'ir'], since, Date.now() + 1);
        }
        // Anyone checks it with ch's card and the parties' bundles alone.
        const bundles = { us: this.#w.party('us').keys.bundle.bundle, ir: this.#w.party('ir').keys.bundle.bundle };
        try {
          const v = verifyStatement(fromBase64(produced.bytes), chCard.vkey, bundles);
          r.statement = { relay: 'ch', pair: ['ir', 'us'], since, until: v.until, count: v.count, by_direction: v.byDirection, checkpoint_size: v.checkpoint.size, verified: true };
          this.#say(`  ch states: at least ${v.count} envelopes passed between ir and us (${Object.entries(v.byDirection).map(([k, x]) => `${k}: ${x}`).join(', ')}), proven against its checkpoint of size ${v.checkpoint.size}; no content revealed`);
          check('the statement verifies with ch\'s card and the parties\' bundles only', true);
          check('it counts several messages', v.count >= 5, `${v.count}`);
          const cos = verifyCosignatures(v.checkpointNote.text, v.checkpointNote.signatures, [witness]);
          r.witness = { witness: witness.name, log: chCard.origin, checkpoint_size: v.checkpoint.size, cosignatures: cos.length, verified: cos.length > 0, live_checkpoint_size: null, live_verified: false };
          this.#say(`  om's witness cosigned that checkpoint (${cos.length} cosignature verified with om's witness key)`);
          check('om\'s cosignature on ch\'s checkpoint verifies', cos.length > 0);
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          r.statement ??= { relay: 'ch', pair: ['ir', 'us'], since, until: 0, count: produced.count, by_direction: {}, checkpoint_size: produced.size, verified: false, error: msg };
          check('the statement and its witnessed checkpoint verify', false, msg);
        }
        // The checkpoint ch serves to everyone now, as any verifier would fetch it.
        const res = await fetch(`${ch.url}/checkpoint`);
        const note = await res.text();
        const opened = openCheckpoint(note, chCard.vkey);
        let live: number;
        try {
          live = verifyCosignatures(opened.note.text, opened.note.signatures, [witness]).length;
        } catch {
          live = 0;
        }
        if (r.witness !== undefined) {
          r.witness.live_checkpoint_size = opened.checkpoint.size;
          r.witness.live_verified = live > 0;
        }
        this.#say(`  GET ${ch.url}/checkpoint: size ${opened.checkpoint.size}, ${live > 0 ? 'cosigned by om' : 'not (yet) cosigned'}`);
        const v = await us.verify();
        for (const x of v.relays) this.#say(`  us verifies its receipts against ${x.relay}'s log: ${x.ok ? 'ok' : x.problems.join('; ')}`);
        check('every receipt us holds is in the relays\' logs', v.ok);
      }),
    );
    abort();

    steps.push(
      await this.step(5, 'qa turns rogue and alters its copy of a later note', async (r, check) => {
        const qa = this.#w.relay('qa');
        qa.proxy.setFault({ kind: 'alter' });
        this.#say('  (staged: the proxy in front of qa now holds qa\'s log key and alters what qa delivers)');
        try {
          const sent = await this.#send(ir, 'through every channel', {
            to: 'us', precedence: 'FLASH', category: 'security', subject: 'Prisoner exchange', signer: 'minister', replyTo: flashId,
            body: 'The Islamic Republic is ready to discuss a prisoner exchange through the protecting power.',
          });
          const got = await until('every copy at us', [us], async () => {
            const n = await us.show(sent.id, { from: 'ir' });
            return n.copies.length >= 3 ? n : undefined;
          }, sig);
          const bad = got.copies.filter((c) => !c.valid).map((c) => c.relay);
          check('qa\'s copy is invalid, ch\'s and om\'s are valid', bad.join() === 'qa' && got.copies.filter((c) => c.valid).length === 2, `invalid: ${bad.join(', ') || 'none'}`);
          check('us still has the note from the others', got.body.startsWith('The Islamic Republic is ready'));
          check('the note is marked not consistent', !got.consistent);
          const alerts = (await us.alerts({ kind: 'invalid_copy' })).filter((a) => a.note?.id === sent.id);
          check('an invalid-copy alert names qa', alerts.length === 1 && alerts[0]?.relay === 'qa');
          const ev = alerts[0]?.evidence.copy as Record<string, unknown> | undefined;
          let proven = false;
          if (ev !== undefined && typeof ev.envelope === 'string' && typeof ev.delivery_record === 'string') {
            const bytes = fromBase64(ev.envelope);
            const record = openDeliveryRecord(fromBase64(ev.delivery_record), parseRelayCard(qa.card).vkey.publicKey);
            proven = toHex(record.digest) === toHex(sha256(bytes)) && toHex(record.digest) !== got.digest;
          }
          check('the evidence: a delivery record signed by qa for the altered bytes', proven);
          await until('delivery records and acknowledgement at ir through ch and om', [ir], async () => {
            const n = await ir.show(sent.id);
            return ['ch', 'om'].every((id) => n.channels.some((c) => c.relay === id && c.delivered_at !== null && c.acked_at !== null)) ? true : undefined;
          }, sig);
          const f = await this.#figure('prisoner exchange', ir, us, sent, ['ch', 'om', 'qa']);
          r.notes.push(f);
          this.#printNote(f);
          check('FLASH delivered within its objective', f.within_objective, `${ms(f.first_arrival_ms)} of ${ms(f.objective_ms)}`);
        } finally {
          qa.proxy.setFault({ kind: 'pass' });
          this.#say('  (qa\'s proxy passes traffic untouched again)');
        }
      }),
    );
    abort();

    steps.push(
      await this.step(6, 'ch goes down; us sends a FLASH note through ch alone: it fails over at once to om and qa', async (r, check) => {
        const ch = this.#w.relay('ch');
        ch.proxy.setFault({ kind: 'refuse' });
        ch.proxy.partition();
        this.#say('  (staged: ch\'s proxy refuses every connection)');
        try {
          const sent = await this.#send(us, 'through ch alone', {
            to: 'ir', precedence: 'FLASH', category: 'security', subject: 'Stand down', signer: 'secretary', via: ['ch'], replyTo: flashId,
            body: 'Our forces in the region have been ordered to stand down.',
          });
          check('the submission to ch fails', sent.failures.some((f) => f.relay === 'ch'), sent.failures.map((f) => `${f.relay}: ${f.code}`).join(', '));
          check('the station fails over at once to om and qa', ['om', 'qa'].every((id) => sent.failover.some((f) => f.relay === id) && sent.receipts.some((x) => x.relay === id)));
          await until('the note at ir', [ir], async () => ((await ir.show(sent.id, { from: 'us' })).copies.some((c) => c.valid) ? true : undefined), sig);
          await until('the delivery records at us', [us], async () => ((await us.show(sent.id)).channels.filter((c) => c.delivered_at !== null).length >= 2 ? true : undefined), sig);
          const f = await this.#figure('stand down', us, ir, sent, ['ch']);
          r.notes.push(f);
          this.#printNote(f);
          check('the note arrives well within its deadline', f.within_objective && f.first_arrival_ms !== null && f.first_arrival_ms < f.objective_ms / 10, `${ms(f.first_arrival_ms)} of ${ms(f.objective_ms)}`);
        } finally {
          ch.proxy.heal();
          ch.proxy.setFault({ kind: 'pass' });
          this.#say('  (ch is back)');
        }
      }),
    );
    return steps;
  }
}

function alertFigure(station: string, a: Alert): AlertFigure {
  return {
    id: a.id,
    station,
    kind: a.kind,
    relay: a.relay ?? null,
    party: a.party ?? null,
    note: a.note?.id ?? null,
    message: a.message,
    evidence: Object.keys(a.evidence),
  };
}

export type { RelayId, NoteView };

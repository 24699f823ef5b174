/**
 * What a desk reads: `inbox` (notes in both directions, newest first), `show MSGID` (one note:
 * attribution, body, every copy per relay, consistency, the delivery timeline; PRODUCT.md
 * `show --json`), `thread MSGID` (the whole history of a thread, each note with its timeline).
 *
 * A note id is its 32 hex digits, or a unique prefix of at least 6. `show` exits 3
 * (`misbehaviour`) when the note has an open alert with evidence, after printing it.
 */
import type { Command } from 'commander';
import type { InboxEntry, NoteView, ThreadView } from '@backchannel/station';
import { CliError, usage } from '../errors.js';
import type { Style } from '../output.js';
import { parseNoteId, partyHomeOf, resolveNoteId, withStation } from '../party.js';
import { cut, duration, table, when } from '../table.js';
import { optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

type Paint = (s: Style, text: string) => string;

function statusStyle(status: string): Style | undefined {
  if (status === 'failed') return 'red';
  if (status === 'pending' || status === 'submitted') return 'yellow';
  if (status === 'acknowledged' || status === 'read' || status === 'delivered' || status === 'received') return 'green';
  return undefined;
}

export function humanInbox(entries: readonly InboxEntry[], paint: Paint): string {
  if (entries.length === 0) return 'No notes yet.';
  const rows = entries.map((n) => [n.id, n.direction === 'in' ? `from ${n.from}` : `to ${n.to}`, n.precedence, when(n.at), n.status, n.alerts > 0 || !n.consistent ? `${n.alerts} alert${n.alerts === 1 ? '' : 's'}` : '', cut(n.subject, 50)]);
  return table([{ title: 'ID' }, { title: 'PARTY' }, { title: 'PRECEDENCE' }, { title: 'AT' }, { title: 'STATUS' }, { title: 'ALERTS' }, { title: 'SUBJECT' }], rows, (row, col, padded) => {
    if (col === 4) {
      const s = statusStyle(entries[row]?.status ?? '');
      return s === undefined ? padded : paint(s, padded);
    }
    if (col === 5 && padded.trim() !== '') return paint('red', padded);
    if (col === 2 && entries[row]?.precedence === 'FLASH') return paint('bold', padded);
    return padded;
  });
}

export function humanNote(n: NoteView, paint: Paint): string {
  const lines = [
    paint('bold', n.subject),
    `Id:          ${n.id}`,
    `From:        ${n.from}    To: ${n.to}    (${n.direction === 'in' ? 'received' : 'sent'})`,
    `Precedence:  ${n.precedence}${n.category === null ? '' : `    Category: ${n.category}`}`,
    `Created:     ${when(n.created)}${n.deadline === null ? '' : `    Deadline: ${when(n.deadline)}`}`,
    `Status:      ${n.status}`,
    `Attribution: ${n.attribution === null ? '-' : `${n.attribution.text} [${n.attribution.party}/${n.attribution.signer}, ${n.attribution.level}]`}`,
  ];
  if (n.thread !== null) lines.push(`Thread:      ${n.thread}${n.reply_to === null ? '' : `    Reply to: ${n.reply_to.from}/${n.reply_to.id}`}`);
  lines.push('', n.body, '');
  if (n.copies.length > 0) {
    lines.push(`Copies (${n.consistent ? paint('green', 'consistent') : paint('red', 'NOT consistent')}${n.equivocated ? `, ${paint('red', 'EQUIVOCATED')}` : ''}):`);
    lines.push(
      table(
        [{ title: 'RELAY' }, { title: 'RECEIVED' }, { title: 'VALID' }, { title: 'DIGEST' }],
        n.copies.map((c) => [c.relay, when(c.received_at), c.valid ? 'yes' : `NO (${c.error ?? 'invalid'})`, c.digest]),
        (row, col, padded) => (col === 2 ? paint(n.copies[row]?.valid === true ? 'green' : 'red', padded) : padded),
      ),
    );
  }
  if (n.channels.length > 0) {
    lines.push('', 'Channels:');
    lines.push(
      table(
        [{ title: 'RELAY' }, { title: 'ROLE' }, { title: 'SUBMITTED' }, { title: 'LOG', right: true }, { title: 'DELIVERED' }, { title: 'ACKNOWLEDGED' }, { title: 'ERROR' }],
        n.channels.map((c) => [c.relay, c.role, when(c.submitted_at), c.log_index === null ? '-' : String(c.log_index), when(c.delivered_at), when(c.acked_at), c.error === null ? '' : `${c.error.code}: ${c.error.message}`]),
      ),
    );
  }
  lines.push('', 'Timeline:');
  lines.push(
    table(
      [{ title: 'AT' }, { title: '+', right: true }, { title: 'EVENT' }, { title: 'RELAY' }, { title: 'DETAIL' }],
      n.timeline.map((t) => [when(t.at), duration(t.at - n.created), t.event, t.relay ?? '', t.detail ?? '']),
      (row, col, padded) => (col === 2 && (n.timeline[row]?.event === 'alert' || n.timeline[row]?.event === 'invalid_copy') ? paint('red', padded) : padded),
    ),
  );
  if (n.alerts.length > 0) lines.push('', paint('red', `Alerts: ${n.alerts.join(', ')} (see 'backchannel alerts').`));
  return lines.join('\n');
}

export function humanThread(t: ThreadView, paint: Paint): string {
  const head = [paint('bold', t.subject), `Thread ${t.id} with ${t.party}: ${t.notes.length} note${t.notes.length === 1 ? '' : 's'}, ${when(t.started_at)} to ${when(t.last_at)}.`];
  const notes = t.notes.map((n) => {
    const events = n.timeline.map((e) => `    ${when(e.at)}  +${duration(e.at - n.created).padEnd(7)} ${e.event}${e.relay === null ? '' : ` (${e.relay})`}${e.detail === null ? '' : `: ${cut(e.detail, 80)}`}`);
    return [`${paint('bold', `${n.direction === 'in' ? '<-' : '->'} ${n.id}`)}  ${n.from} to ${n.to}, ${n.precedence}, ${n.status}${n.attribution === null ? '' : `, signed ${n.attribution.text}`}`, `    ${cut(n.subject, 100)}`, ...n.body.split('\n').map((l) => `    | ${l}`), ...events].join('\n');
  });
  return [...head, '', notes.join('\n\n')].join('\n');
}

export function registerNotes(program: Command, ctx: Context): void {
  const paint: Paint = (s, t) => ctx.out.style(s, t);
  withCommonOptions(program.command('inbox').description('list notes, both directions, newest first').option('--limit <n>', 'at most n notes')).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const limitText = stringOption(o, 'limit');
    if (limitText !== undefined && !/^[1-9][0-9]{0,5}$/.test(limitText)) throw usage('--limit must be a whole number from 1 to 999999');
    const home = await partyHomeOf(ctx, o, 'inbox');
    const notes = await withStation(ctx, home, (s) => s.inbox(limitText === undefined ? {} : { limit: Number(limitText) }));
    await ctx.out.result(humanInbox(notes, paint), { notes });
  });

  withCommonOptions(
    program
      .command('show')
      .description('one note: attribution, body, every copy per relay, consistency, delivery timeline')
      .argument('<msgid>', 'the note id (32 hex digits, or a unique prefix of at least 6)')
      .option('--from <party>', 'the sender, when two parties sent notes with the same id'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const id = parseNoteId(args[0] as string);
    const from = stringOption(o, 'from');
    const home = await partyHomeOf(ctx, o, 'show');
    const { note, open } = await withStation(ctx, home, async (s) => {
      const note = await s.show(await resolveNoteId(s, id), from === undefined ? {} : { from });
      const openIds = new Set((await s.alerts({ open: true })).map((a) => a.id));
      return { note, open: note.alerts.filter((a) => openIds.has(a)) };
    });
    await ctx.out.result(humanNote(note, paint), note);
    if (open.length > 0) throw new CliError('misbehaviour', `note ${note.id} has ${open.length} open alert${open.length === 1 ? '' : 's'} with evidence (ids ${open.join(', ')}); see 'backchannel alerts'`);
  });

  withCommonOptions(
    program
      .command('thread')
      .description('a thread’s whole history, each note with its delivery timeline')
      .argument('<msgid>', 'the thread id or the id of any of its notes (or a unique prefix of at least 6)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const id = parseNoteId(args[0] as string, 'thread or note id');
    const home = await partyHomeOf(ctx, o, 'thread');
    const t = await withStation(ctx, home, async (s) => s.thread(await resolveNoteId(s, id)));
    await ctx.out.result(humanThread(t, paint), t);
  });
}

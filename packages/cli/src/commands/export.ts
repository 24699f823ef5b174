/**
 * Thread archives (issue 7; docs/protocol.md "Thread archives", docs/cli.md).
 *
 * `backchannel export THREAD --out FILE [--html FILE] --home DIR` — a party home: collects the
 * thread (by its id, or the id of any note in it) from the desk's store into a self-contained,
 * deterministic CBOR archive, and optionally a human-readable HTML page with the delivery
 * timeline per channel (subjects and bodies as escaped text, never markup).
 *
 * `backchannel verify-archive FILE [--json]` — anyone, offline: re-checks every envelope's
 * station signature, signer certificate, receipt, delivery record and checkpoint. Exit 3 when
 * anything fails; the report is printed in every case.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { systemRandom } from '@backchannel/core';
import type { ArchiveReport } from '@backchannel/station';
import { CliError, EXIT, usage } from '../errors.js';
import { writeFileAtomic, MODE } from '../home.js';
import { partyHomeOf } from '../party.js';
import { STATION_DB, loadStation, readDeskKeys } from '../station-home.js';
import { optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

function humanArchiveReport(file: string, r: ArchiveReport): string {
  const counts = `${r.notes} note${r.notes === 1 ? '' : 's'}, ${r.copies} cop${r.copies === 1 ? 'y' : 'ies'}, ${r.receipts} receipt${r.receipts === 1 ? '' : 's'}, ${r.delivery_records} delivery record${r.delivery_records === 1 ? '' : 's'}, ${r.checkpoints} checkpoint${r.checkpoints === 1 ? '' : 's'}`;
  if (r.ok) return `The archive ${file} verifies: thread ${r.thread ?? '?'} exported by ${r.exported_by ?? '?'} at ${new Date(r.exported_at ?? 0).toISOString()} (${counts}).`;
  return [`The archive ${file} does NOT verify:`, ...r.problems.map((p) => `  - ${p}`)].join('\n');
}

export function registerExport(program: Command, ctx: Context): void {
  withCommonOptions(
    program
      .command('export')
      .description('write a self-contained, verifiable archive of a thread (and optionally an HTML rendering)')
      .argument('<thread>', 'the thread id, or the id of any note in it')
      .requiredOption('--out <file>', 'where to write the archive (CBOR)')
      .option('--html <file>', 'also write a human-readable HTML rendering here'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const thread = (args[0] as string).toLowerCase();
    if (!/^[0-9a-f]{6,64}$/.test(thread)) throw usage(`${JSON.stringify(args[0])} is not a thread or note id (hex)`);
    const out = stringOption(o, 'out') ?? '';
    const html = stringOption(o, 'html');
    const home = await partyHomeOf(ctx, o, 'export');
    const path = join(home.dir, STATION_DB);
    if (!existsSync(path)) throw new CliError('not_supported', `the home at ${home.dir} has no station store yet: nothing to export`);
    const keys = await readDeskKeys(ctx, home);
    const st = await loadStation();
    const store = await st.openSqliteStore({ path, storageKey: keys.storageKey, random: systemRandom });
    let bytes: Uint8Array;
    try {
      // The encryption keys re-open each envelope just far enough to recover the signer's signature.
      bytes = await st.exportThreadArchive(store, {
        party: keys.party,
        thread,
        now: Date.now(),
        signerCertificate: (id) => keys.signers.find((s) => s.id === id)?.certificate,
        encryption: keys.encryption,
      });
    } finally {
      for (const e of keys.encryption) e.priv.fill(0);
      await store.close();
    }
    await writeFileAtomic(out, bytes, MODE.private);
    if (html !== undefined) await writeFileAtomic(html, st.renderArchiveHtml(bytes), MODE.private);
    const r = st.verifyArchive(bytes);
    const summary = { out, html: html ?? null, bytes: bytes.length, thread: r.thread, notes: r.notes, ok: r.ok, problems: r.problems };
    await ctx.out.result(`Wrote the archive of thread ${r.thread ?? thread} (${r.notes} note${r.notes === 1 ? '' : 's'}, ${bytes.length} bytes) to ${out}${html === undefined ? '' : ` and its rendering to ${html}`}.${r.ok ? '' : ` It does NOT verify: ${r.problems.join('; ')}`}`, summary);
  });

  withCommonOptions(
    program
      .command('verify-archive')
      .description('check a thread archive offline: envelopes, signer certificates, receipts, delivery records, checkpoints')
      .argument('<file>', 'the archive (as `backchannel export` wrote it)'),
  ).action(async (...args: unknown[]) => {
    const file = args[0] as string;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') throw new CliError('file_not_found', `the archive ${file} does not exist`, { cause: e });
      throw e;
    }
    const { verifyArchive } = await loadStation();
    const r = verifyArchive(bytes);
    await ctx.out.result(humanArchiveReport(file, r), r);
    if (!r.ok) throw new CliError('misbehaviour', `the archive ${file} does not verify: ${r.problems[0] ?? ''}`, { exit: EXIT.misbehaviour });
  });
}

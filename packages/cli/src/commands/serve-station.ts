/**
 * `backchannel serve --home PARTY_HOME [--heartbeat SECONDS] [--check SECONDS] [--time-scale X]`:
 * the station daemon (DESIGN.md, "The station daemon and failover"). It holds a push connection
 * to every relay (copies merged and acknowledged as they arrive, delivery records applied as they
 * are logged, the end-to-end acknowledgement sent after each burst; a dropped connection is
 * reopened and caught up with a sync), runs the deadline timers (half-deadline failover, drops,
 * missed deadlines) with a periodic `checkDeadlines` as a backstop, and sends the hotline's
 * heartbeat to every pinned party through every channel on a timer. It runs until SIGINT or
 * SIGTERM, then closes the connections and the store and exits 0.
 *
 * What happens is written to standard error, one line per event (JSON lines with --json);
 * standard output carries one line when the daemon is running. With `--listen HOST:PORT`
 * (loopback only; port 0 picks a free port) it also serves the web console (console-server.ts)
 * and prints its address and a login token.
 *
 * While it runs, `sync`, `send` and `verify` on the same home hand over to it through the Unix
 * socket `station.sock` in the home (handover.ts): they run on the daemon's open station instead
 * of opening the store beside it. A second `serve` on the home is refused (`address_in_use`).
 * A root operation on the home (`rotate`, `signer add/revoke`, `station add`) sends `reload`
 * over the same socket: the daemon re-reads the home's keys and bundle into its running station
 * (Station.reloadKeys), so notes sealed to a new encryption key open at once.
 */
import type { SendRequest, Station, WatchEvent } from '@backchannel/station';
import { daemonRunning, serveHandover, socketPath } from '../handover.js';
import { readBundle, readDeskKeys } from '../station-home.js';
import { getPassphrase, passphraseEnvVar } from '../passphrase.js';
import { sendOn } from './send.js';
import { verifyOn } from './verify.js';
import { CliError } from '../errors.js';
import type { Home, PartyHomeJson } from '../home.js';
import { openStation } from '../station-home.js';
import { when } from '../table.js';
import { startKeyUpkeep } from '../key-upkeep.js';
import type { Context } from '../context.js';
import type { RunningStationConsole } from '../console-server.js';
import type { Listen } from '../flags.js';

const CLOSE_TIMEOUT_MS = 10_000;

export interface ServeStationInput {
  heartbeatSeconds: number;
  checkSeconds: number;
  timeScale: number | undefined;
  /** The web console's address (console-server.ts), or none. */
  listen: Listen | undefined;
}

export async function serveStation(ctx: Context, home: Home<PartyHomeJson>, input: ServeStationInput, signalled: Promise<NodeJS.Signals>): Promise<void> {
  const log = (event: string, fields: Record<string, unknown>, human: string): void => {
    const at = Date.now();
    ctx.io.stderr.write(ctx.out.json ? `${JSON.stringify({ at, event, ...fields })}\n` : `${when(at)}  ${human}\n`);
  };
  if (await daemonRunning(home)) throw new CliError('address_in_use', `a station daemon already runs on ${home.dir} (its socket ${socketPath(home)} answers)`);
  // Kept for `reload` (the daemon already holds the keys it unlocks), so a reload never prompts.
  const pass = await getPassphrase(ctx.io, 'station', { confirm: false });
  const keyCtx: Context = { ...ctx, io: { ...ctx.io, env: { ...ctx.io.env, [passphraseEnvVar('station')]: pass } } };
  const reload = async (): Promise<unknown> => {
    const keys = await readDeskKeys(keyCtx, home);
    try {
      await station.reloadKeys(keys);
    } finally {
      for (const e of keys.encryption) e.priv.fill(0);
    }
    const b = keys.bundle.bundle;
    log('reload', { seq: b.seq }, `keys reloaded: bundle ${b.seq}`);
    return { reloaded: { party: home.json.id, station: home.json.station, seq: b.seq, signers: keys.signers.map((s) => s.id), encryption: keys.encryption.length } };
  };
  const station: Station = await openStation(keyCtx, home, {
    timers: true,
    ...(input.timeScale === undefined ? {} : { timeScale: input.timeScale }),
  });
  const timers: NodeJS.Timeout[] = [];
  let stopHandover: (() => Promise<void>) | undefined;
  let webConsole: RunningStationConsole | undefined;
  try {
    // The other verbs on this home (sync, send, verify) hand over to this daemon (handover.ts).
    const pub = (await readBundle(home)).bundle.stations.find((x) => x.id === home.json.station)?.pub;
    if (pub === undefined) throw new CliError('home_invalid', `the home at ${home.dir} is damaged: its bundle does not list station ${home.json.station}`);
    stopHandover = await serveHandover(
      home,
      pub,
      async (req, progress) => {
        log('handover', { verb: req.verb }, `handed over: ${req.verb}`);
        switch (req.verb) {
          case 'sync':
            return station.sync({ onProgress: progress });
          case 'verify':
            return verifyOn(station, progress);
          case 'send':
            return sendOn(ctx, station, req.request as unknown as SendRequest, req.replyTo ?? undefined, home.dir);
          case 'reload':
            return reload();
        }
      },
      (e) => {
        log('error', { message: e instanceof Error ? e.message : String(e) }, `handover failed: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
    const onTimerOutcome = (r: Awaited<ReturnType<Station['checkDeadlines']>> | Error): void => {
      if (r instanceof Error) {
        log('error', { message: r.message }, `deadline check failed: ${r.message}`);
        return;
      }
      webConsole?.notify({ type: 'deadlines', report: r });
      for (const f of r.failovers) log('failover', f, `failover: note ${f.id} to ${f.relays.join(', ')} (${f.reason})`);
      for (const d of r.drops) log('drop', d, `ALERT drop: relay ${d.relay} did not deliver note ${d.id} by its deadline`);
      for (const m of r.missed) log('deadline_missed', { id: m }, `ALERT deadline missed: note ${m}`);
    };
    const onEvent = (e: WatchEvent): void => {
      webConsole?.notify(e);
      switch (e.type) {
        case 'connected':
          log('connected', { relay: e.relay }, `relay ${e.relay}: push connection open`);
          break;
        case 'disconnected':
          log('disconnected', { relay: e.relay, error: e.error ?? null }, `relay ${e.relay}: push connection lost${e.error === undefined ? '' : ` (${e.error.code}: ${e.error.message})`}; reconnecting`);
          break;
        case 'received':
          log('received', { ...e.entry }, `relay ${e.entry.relay}: ${e.entry.kind ?? 'copy'} ${e.entry.from ?? '?'}/${e.entry.id ?? '?'} ${e.entry.outcome}${e.entry.valid ? '' : ' (INVALID)'}`);
          break;
        case 'delivered':
          log('delivered', { relay: e.relay }, `relay ${e.relay}: delivery record`);
          break;
        case 'acknowledged':
          for (const a of e.acks) log('acknowledged', { ...a }, `acknowledgement to ${a.to} for ${a.notes.length} note(s) via ${a.via.join(', ')}`);
          break;
        case 'error':
          log('error', { relay: e.relay ?? null, error: e.error }, `${e.relay === undefined ? '' : `relay ${e.relay}: `}${e.error.code}: ${e.error.message}`);
          break;
      }
    };
    const watch = await station.watch({ onEvent });
    // Loaded only here, so the other verbs never load the web server and its UI build.
    if (input.listen !== undefined) webConsole = await (await import('../console-server.js')).startDaemonConsole(home, station, input.listen, pass);
    const check = (): void => {
      station.checkDeadlines().then(onTimerOutcome, (e: unknown) => {
        onTimerOutcome(e instanceof Error ? e : new Error(String(e)));
      });
    };
    if (input.checkSeconds > 0) timers.push(setInterval(check, input.checkSeconds * 1000));
    // The key-rotation timer (key-upkeep.ts): reminders and destruction of superseded keys; never a rotation.
    timers.push(
      startKeyUpkeep(station, home, pass, reload, (r) => {
        if (r instanceof Error) log('error', { message: r.message }, `key check failed: ${r.message}`);
        else {
          for (const k of r.rotation.filter((x) => x.alert !== undefined)) log('rotation_due', { ...k }, `ALERT rotation due: the ${k.suite} encryption key ${k.state === 'expired' ? 'has run out' : `runs out ${when(k.not_after ?? 0)}`}; run 'backchannel rotate' where the root key is`);
          for (const f of r.destroyed) log('key_destroyed', { file: f }, `destroyed ${f}: superseded, and its overlap has passed`);
        }
      }),
    );
    const beat = async (): Promise<void> => {
      for (const p of (await station.parties()).filter((x) => !x.self)) {
        try {
          const r = await station.heartbeat(p.id);
          log('heartbeat', { to: p.id, id: r.id, receipts: r.receipts, failures: r.failures }, `heartbeat to ${p.id}: ${r.receipts.map((x) => x.relay).join(', ') || 'no receipt'}${r.failures.length === 0 ? '' : `; failed: ${r.failures.map((f) => `${f.relay} (${f.code})`).join(', ')}`}`);
        } catch (e) {
          log('error', { message: e instanceof Error ? e.message : String(e) }, `heartbeat to ${p.id} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    };
    if (input.heartbeatSeconds > 0) {
      timers.push(
        setInterval(() => {
          void beat();
        }, input.heartbeatSeconds * 1000),
      );
    }
    const relays = (await station.channels()).map((c) => c.relay);
    const consoleLine = webConsole === undefined ? '' : `\nConsole at ${webConsole.url} — log in with the station passphrase or the token ${webConsole.token}`;
    await ctx.out.result(`Station ${home.json.id}/${home.json.station} is running with ${relays.length} channel${relays.length === 1 ? '' : 's'} (${relays.join(', ') || 'none'}) (Ctrl-C to stop).${consoleLine}`, {
      serving: { party: home.json.id, station: home.json.station, relays, ...(webConsole === undefined ? {} : { console: { url: webConsole.url, port: webConsole.port, token: webConsole.token } }) },
    });
    const signal = await signalled;
    ctx.out.progress(`Received ${signal}; stopping…`);
    for (const t of timers.splice(0)) clearInterval(t);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, CLOSE_TIMEOUT_MS);
    });
    const outcome = await Promise.race([
      (async () => {
        const stop = stopHandover;
        stopHandover = undefined;
        await stop();
        const c = webConsole;
        webConsole = undefined;
        await c?.close();
        await watch.close();
        await station.close();
        return 'closed' as const;
      })(),
      timedOut,
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new CliError('internal', `the station did not stop within ${CLOSE_TIMEOUT_MS / 1000} seconds after ${signal}`);
  } finally {
    for (const t of timers) clearInterval(t);
    await webConsole?.close();
    await stopHandover?.();
    await station.close();
  }
}

/**
 * Building the console's UI without a manual step: `ensureConsoleBuilt()` runs Vite's build
 * (its JS API) when `dist/` is missing or older than the sources, so `npm start` and the
 * tests work on a fresh clone. One build per process (the promise is cached), and one per
 * machine at a time: a lock directory (mkdir is atomic) keeps two processes from writing
 * `dist/` together; the second waits for the first and then finds the build fresh.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsoleError } from './errors.js';

/** The package's folder (this file is src/server/build.ts). */
export const CONSOLE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CONSOLE_DIST = join(CONSOLE_ROOT, 'dist');
const STAMP = join(CONSOLE_DIST, '.build-stamp');
const LOCK = join(CONSOLE_ROOT, '.build-lock');
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 5 * 60_000;
const WAIT_STEP_MS = 200;

/** The pages: each becomes `dist/<name>.html`. A page whose HTML does not exist yet is left out. */
export const PAGES = ['station', 'operator'] as const;
export type PageName = (typeof PAGES)[number];

let building: Promise<void> | undefined;

export function ensureConsoleBuilt(): Promise<void> {
  building ??= ensure().catch((e: unknown) => {
    building = undefined;
    throw e;
  });
  return building;
}

async function ensure(): Promise<void> {
  if (await isFresh()) return;
  for (;;) {
    if (await takeLock()) {
      try {
        // Another process may have built while we waited for the lock.
        if (!(await isFresh())) await runBuild();
      } finally {
        await rm(LOCK, { recursive: true, force: true });
      }
      return;
    }
    await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
    if (await isFresh()) return;
  }
}

async function takeLock(): Promise<boolean> {
  try {
    await mkdir(LOCK);
    return true;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
    const s = await stat(LOCK).catch(() => undefined);
    if (s !== undefined && Date.now() - s.mtimeMs > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true });
    return false;
  }
}

async function newestSource(): Promise<number> {
  let newest = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      // The server's files are not part of the UI bundle.
      if (d.isDirectory()) {
        if (p !== join(CONSOLE_ROOT, 'src', 'server')) await walk(p);
      } else newest = Math.max(newest, (await stat(p)).mtimeMs);
    }
  };
  await walk(join(CONSOLE_ROOT, 'src'));
  for (const page of existingPages()) newest = Math.max(newest, statSync(join(CONSOLE_ROOT, `${page}.html`)).mtimeMs);
  newest = Math.max(newest, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  return newest;
}

/** Fresh: built after the newest source, and every page that has HTML has been built. */
async function isFresh(): Promise<boolean> {
  const s = await stat(STAMP).catch(() => undefined);
  if (s === undefined) return false;
  for (const page of existingPages()) if (!existsSync(join(CONSOLE_DIST, `${page}.html`))) return false;
  return s.mtimeMs >= (await newestSource());
}

/**
 * The pages that can be built: the HTML exists and so does every local script it loads (a page
 * still being written by someone else is left out rather than failing everyone's build).
 */
export function existingPages(): PageName[] {
  return PAGES.filter((p) => {
    const html = join(CONSOLE_ROOT, `${p}.html`);
    if (!existsSync(html)) return false;
    const scripts = [...readFileSync(html, 'utf8').matchAll(/<script[^>]*\ssrc="\/([^"]+)"/g)].map((m) => m[1] ?? '');
    return scripts.every((src) => existsSync(join(CONSOLE_ROOT, src)));
  });
}

async function runBuild(): Promise<void> {
  const pages = existingPages();
  if (pages.length === 0) throw new ConsoleError('build_failed', `the console has no page to build in ${CONSOLE_ROOT}`);
  // Imported here so a process that never serves a console never loads Vite.
  const [{ build }, { default: react }] = await Promise.all([import('vite'), import('@vitejs/plugin-react')]);
  const started = Date.now();
  // Vite takes NODE_ENV over its mode, and test runners set it to `test`: that would ship
  // React's development build. The build is always the production one.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      mode: 'production',
      root: CONSOLE_ROOT,
      configFile: false,
      logLevel: 'warn',
      plugins: [react()],
      base: '/',
      build: {
        outDir: CONSOLE_DIST,
        emptyOutDir: true,
        // No inline anything: the CSP allows only 'self' scripts and styles, and data: images.
        assetsInlineLimit: 0,
        modulePreload: { polyfill: false },
        cssCodeSplit: true,
        sourcemap: false,
        reportCompressedSize: false,
        rolldownOptions: { input: Object.fromEntries(pages.map((p) => [p, join(CONSOLE_ROOT, `${p}.html`)])) },
      },
    });
  } catch (e) {
    throw new ConsoleError('build_failed', `the console's UI did not build: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  await writeFile(STAMP, `${JSON.stringify({ builtAt: new Date().toISOString(), ms: Date.now() - started, pages })}\n`);
}

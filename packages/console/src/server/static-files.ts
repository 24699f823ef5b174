/**
 * Serving the built UI from `dist/`: the page for this console at `/`, and the hashed assets
 * under `/assets/`. The path is attacker-controlled: only names matching a strict pattern are
 * looked up, so no `..`, no encoded separators, nothing outside `dist/assets`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CONSOLE_DIST, type PageName } from './build.js';
import { errorBody } from './errors.js';

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  json: 'application/json',
};

const ASSET = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}\.(js|css|svg|png|woff2|json)$/;

export function registerStaticRoutes(app: FastifyInstance, page: PageName): void {
  app.get('/', async (_req, reply) => {
    const html = await readFile(join(CONSOLE_DIST, `${page}.html`));
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  });
  app.get('/assets/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    const m = ASSET.exec(name);
    const type = m?.[1] === undefined ? undefined : TYPES[m[1]];
    if (type === undefined) return reply.code(404).send(errorBody('not_found', 'no such file'));
    let body: Buffer;
    try {
      body = await readFile(join(CONSOLE_DIST, 'assets', name));
    } catch {
      return reply.code(404).send(errorBody('not_found', 'no such file'));
    }
    // Names carry a content hash, so they can be cached for good.
    return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(body);
  });
}

/**
 * The relay's HTTP app: a Fastify instance that tests drive in process with `inject`, and that
 * relay.ts puts on a socket. Known errors map to `{"error": {"code", "message"}}` with their
 * status; anything else is a bare 500 `internal`, logged (STYLE.md: hono's error handling).
 * Bad input never changes anything and never takes the process down.
 */
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { describeError, RelayError, type AnyErrorCode } from '../errors.js';
import { ApiCatalog } from './api-catalog.js';
import { registerCborBody } from './cbor-body.js';
import type { RelayContext } from './context.js';
import { registerLogRoutes } from './routes/log-api.js';
import { registerOperationRoutes } from './routes/operations.js';
import { registerPushRoute } from './routes/push.js';
import { registerReceiveRoutes } from './routes/receive.js';
import { registerStatementRoutes } from './routes/statements.js';
import { registerSubmitRoutes } from './routes/submit.js';
import { registerWitnessRoute } from '../witness/witness-route.js';

// Compiled once per schema object; TypeBox checks Uint8Array, which Ajv cannot.
const compiled = new WeakMap<object, ReturnType<typeof TypeCompiler.Compile>>();

function compile(schema: TSchema): ReturnType<typeof TypeCompiler.Compile> {
  let c = compiled.get(schema);
  if (c === undefined) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c;
}

function errorBody(code: AnyErrorCode, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Fastify's own client errors (framework codes) as ours. */
function frameworkError(e: FastifyError, url: string): { status: number; code: AnyErrorCode; message: string } | undefined {
  switch (e.code) {
    case 'FST_ERR_VALIDATION':
      return e.validationContext === 'body'
        ? { status: 400, code: 'schema_invalid', message: `the body does not match the schema: ${e.message}` }
        : { status: 400, code: 'bad_request', message: `the ${e.validationContext ?? 'request'} is malformed: ${e.message}` };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return url.startsWith('/v1/submit')
        ? { status: 413, code: 'too_large', message: 'the submission exceeds the largest envelope size' }
        : { status: 413, code: 'payload_too_large', message: 'the request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: 'station bodies are application/cbor' };
    default:
      if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
        return { status: e.statusCode, code: 'bad_request', message: 'the request is malformed' };
      }
      return undefined;
  }
}

export async function buildApp(ctx: RelayContext, options: { tls?: { cert: string | Buffer; key: string | Buffer } } = {}): Promise<{ app: FastifyInstance; catalog: ApiCatalog; registered: string[] }> {
  const { limits, metrics } = ctx;
  // Typed as Fastify's base logger so the instance is a plain FastifyInstance for the route files.
  const loggerInstance: FastifyBaseLogger = ctx.logger;
  const app = Fastify({
    ...(options.tls === undefined ? {} : { https: { cert: options.tls.cert, key: options.tls.key } }),
    loggerInstance,
    bodyLimit: limits.bodyBytes,
    // Slow clients are bounded: the whole request within this time, headers sooner.
    requestTimeout: limits.requestTimeoutMs,
    // Node checks those timeouts on this interval (30 s by default): check often enough to mean them.
    http: { connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(limits.requestTimeoutMs / 4))) },
    connectionTimeout: limits.requestTimeoutMs * 2,
    keepAliveTimeout: 10_000,
    routerOptions: { maxParamLength: 128 },
    return503OnClosing: true,
    forceCloseConnections: true,
    // One line per request at 7k requests/s is noise; refusals and failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // A path Fastify cannot even decode (bad percent-encoding) is refused before any route or
    // error handler runs: answer it in our shape too, so every refusal carries a known code.
    frameworkErrors: (err, _req, reply) => {
      metrics.rejected.inc({ reason: 'bad_request' });
      void (reply as FastifyReply).code(400).send(errorBody('bad_request', err.code === 'FST_ERR_BAD_URL' ? 'the request path is not a valid URL' : 'the request is malformed'));
    },
    // An https.Server where TLS is configured: the same request and reply types for the routes.
  }) as unknown as FastifyInstance;
  // Every route Fastify registers, for the test that holds the OpenAPI document complete.
  const registered: string[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') registered.push(`${m} ${r.url}`);
  });
  app.server.headersTimeout = Math.min(10_000, limits.requestTimeoutMs);

  app.setValidatorCompiler(({ schema }) => {
    const c = compile(schema as TSchema);
    return (data: unknown) => {
      if (c.Check(data)) return { value: data };
      const problems = [...c.Errors(data)].slice(0, 8).map((e) => `${e.path === '' ? '/' : e.path}: ${e.message}`);
      return { error: new Error(problems.join('; ')) };
    };
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = describeError(err) ?? frameworkError(err, req.url);
    if (known === undefined) {
      req.log.error({ err, route: req.routeOptions.url }, 'unexpected error');
      metrics.rejected.inc({ reason: 'internal' });
      return reply.code(500).send(errorBody('internal', 'the relay failed to handle this request'));
    }
    metrics.rejected.inc({ reason: known.code });
    if (known.status >= 500) req.log.warn({ code: known.code, msg: known.message, route: req.routeOptions.url }, 'request failed');
    else req.log.debug({ code: known.code, route: req.routeOptions.url }, 'request refused');
    if (known.code === 'rate_limited') void reply.header('retry-after', String(Math.ceil(limits.rateWindowMs / 1000)));
    return reply.code(known.status).send(errorBody(known.code, known.message));
  });

  app.setNotFoundHandler((req, reply) => {
    metrics.rejected.inc({ reason: 'not_found' });
    return reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`));
  });

  app.addHook('onResponse', (req, reply, done) => {
    metrics.requestSeconds.observe({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });

  registerCborBody(app);
  // The flood gate, per client address, before any body is parsed.
  await app.register(rateLimit, {
    max: limits.ipRequestsPerWindow,
    timeWindow: limits.rateWindowMs,
    errorResponseBuilder: () => new RelayError('rate_limited', 'too many requests from this address; slow down'),
  });
  await app.register(websocket, { options: { maxPayload: 16 * 1024 } });

  const catalog = new ApiCatalog();
  registerSubmitRoutes(app, catalog, ctx);
  registerReceiveRoutes(app, catalog, ctx);
  registerPushRoute(app, catalog, ctx);
  registerLogRoutes(app, catalog, ctx);
  registerOperationRoutes(app, catalog, ctx);
  registerStatementRoutes(app, catalog, ctx);
  if (ctx.witness !== undefined) {
    catalog.add({
      method: 'POST',
      url: '/witness/add-checkpoint',
      operationId: 'addCheckpoint',
      summary: 'C2SP tlog-witness add-checkpoint: this relay cosigns other logs (only when configured as a witness)',
      tag: 'witness',
      body: { contentType: 'text/plain', schema: Type.String() },
      responses: {
        200: { description: 'One cosignature/v1 line', contentType: 'text/plain; charset=utf-8' },
        403: { description: 'No valid signature by a trusted key of the origin' },
        404: { description: 'Unknown origin' },
        409: { description: 'Old size is not the size last cosigned: body is that size (text/x.tlog.size)', contentType: 'text/x.tlog.size' },
        422: { description: 'The consistency proof does not verify' },
      },
    });
    await registerWitnessRoute(app, ctx.witness, '/witness');
  }
  return { app, catalog, registered };
}

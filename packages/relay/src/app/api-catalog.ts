/**
 * Every route is declared once, as a RouteSpec, and registered through the catalog, which both
 * hands it to Fastify (schemas included) and keeps it for the OpenAPI 3.1 document served at
 * /openapi.json — so the document cannot miss a route (a test checks Fastify's table against it).
 */
import type { TSchema } from '@sinclair/typebox';
import { ErrorResponse } from './schemas.js';

export interface ResponseSpec {
  description: string;
  contentType?: string;
  schema?: TSchema;
}

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** Fastify's route pattern (`:param`, `*`). */
  url: string;
  operationId: string;
  summary: string;
  tag: 'submit' | 'receive' | 'log' | 'operations' | 'witness' | 'statements';
  /** Needs a Backchannel-Request header (protocol §5.2). */
  signed?: boolean;
  body?: { contentType: string; schema: TSchema };
  querystring?: TSchema;
  params?: TSchema;
  responses: Record<number, ResponseSpec>;
}

/** OpenAPI has no Uint8Array: CBOR byte strings become binary strings; TypeBox's own keys go. */
function toOpenApiSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toOpenApiSchema);
  if (s === null || typeof s !== 'object') return s;
  const o = s as Record<string, unknown>;
  if (o.type === 'Uint8Array') {
    const out: Record<string, unknown> = { type: 'string', format: 'binary', description: 'CBOR byte string' };
    if (typeof o.maxByteLength === 'number') out.maxLength = o.maxByteLength;
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (k !== '$id') out[k] = toOpenApiSchema(v);
  return out;
}

function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        params.push(seg.slice(1));
        return `{${seg.slice(1)}}`;
      }
      if (seg === '*') {
        params.push('path');
        return '{path}';
      }
      return seg;
    })
    .join('/');
  return { path, params };
}

const COMMON_ERRORS: Record<number, string> = {
  400: 'Bad input (a stable error code says which)',
  413: 'Body too large',
  429: 'Rate limited',
  500: 'Internal error',
  503: 'Unavailable',
};

export class ApiCatalog {
  readonly routes: RouteSpec[] = [];

  add(spec: RouteSpec): void {
    this.routes.push(spec);
  }

  openapi(info: { title: string; version: string; description: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const { path, params } = openApiPath(r.url);
      const responses: Record<string, unknown> = {};
      for (const [status, res] of Object.entries(r.responses)) {
        if (res.schema !== undefined) {
          responses[status] = { description: res.description, content: { [res.contentType ?? 'application/json']: { schema: toOpenApiSchema(res.schema) } } };
        } else if (Number(status) >= 400) {
          // Every refusal is the same JSON error object; the description names its codes.
          responses[status] = { description: res.description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
        } else {
          responses[status] = { description: res.description, ...(res.contentType === undefined ? {} : { content: { [res.contentType]: {} } }) };
        }
      }
      for (const [status, description] of Object.entries(COMMON_ERRORS)) {
        responses[status] ??= { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      }
      const parameters: unknown[] = [];
      const pschema = r.params === undefined ? undefined : (toOpenApiSchema(r.params) as { properties?: Record<string, unknown> });
      for (const p of params) {
        parameters.push({ name: p, in: 'path', required: true, schema: pschema?.properties?.[p === 'path' ? '*' : p] ?? { type: 'string' } });
      }
      if (r.querystring !== undefined) {
        const q = toOpenApiSchema(r.querystring) as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, schema] of Object.entries(q.properties ?? {})) parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
      }
      if (r.signed === true) {
        parameters.push({
          name: 'Backchannel-Request',
          in: 'header',
          required: true,
          description: 'base64url of the Signed request (protocol §5.2) over method, path with query, body hash, time and nonce',
          schema: { type: 'string' },
        });
      }
      const op: Record<string, unknown> = { operationId: r.operationId, summary: r.summary, tags: [r.tag], responses };
      if (parameters.length > 0) op.parameters = parameters;
      if (r.body !== undefined) op.requestBody = { required: true, content: { [r.body.contentType]: { schema: toOpenApiSchema(r.body.schema) } } };
      paths[path] ??= {};
      paths[path][r.method.toLowerCase()] = op;
    }
    return {
      openapi: '3.1.0',
      info,
      paths,
      components: { schemas: { Error: toOpenApiSchema(ErrorResponse) } },
    };
  }
}

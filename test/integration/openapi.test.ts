// The OpenAPI documents list every route, and real replies match what they document.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { buildBroker, type Broker } from '../../src/broker/app.ts';
import { brokerConfig } from '../../src/broker/config.ts';
import { brokerRouteDocs } from '../../src/broker/openapi.ts';
import type { RouteDoc } from '../../src/core/openapi.ts';
import { closeApp, localUrl } from '../../src/core/process.ts';
import { buildWorker, type WorkerApp } from '../../src/worker/app.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { workerRouteDocs } from '../../src/worker/openapi.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';
import { waitFor } from '../helpers/wait.ts';

type Schema = Record<string, unknown> & {
  type?: string;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
};

/**
 * The JSON Schema subset the docs use. An object schema that lists properties and does not allow
 * others is closed here: a field the code answers but the docs do not list is reported.
 */
function mismatches(schema: Schema, value: unknown, path = '$'): string[] {
  if (value === null) {
    return schema.nullable || schema.type === 'null' ? [] : [`${path}: null is not documented`];
  }
  if (schema.enum && !schema.enum.includes(value))
    return [`${path}: ${JSON.stringify(value)} not in enum`];
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object`];
      const obj = value as Record<string, unknown>;
      const out: string[] = [];
      for (const k of schema.required ?? []) if (!(k in obj)) out.push(`${path}.${k}: missing`);
      for (const [k, v] of Object.entries(obj)) {
        const sub = schema.properties?.[k];
        if (sub) out.push(...mismatches(sub, v, `${path}.${k}`));
        else if (typeof schema.additionalProperties === 'object') {
          out.push(...mismatches(schema.additionalProperties, v, `${path}.${k}`));
        } else if (schema.properties && schema.additionalProperties !== true) {
          out.push(`${path}.${k}: not documented`);
        }
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: not an array`];
      return value.flatMap((v, i) =>
        schema.items ? mismatches(schema.items, v, `${path}[${i}]`) : [],
      );
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: not a string`];
    case 'number':
      return typeof value === 'number' ? [] : [`${path}: not a number`];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${path}: not an integer`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
    default:
      return [];
  }
}

function responseSchema(doc: RouteDoc | undefined, status: number): Schema {
  const s = (doc?.response as Record<string, Schema> | undefined)?.[status];
  assert.ok(s, `no documented ${status} response`);
  return s;
}

/** Collects every route an app declares (they are declared in plugins, when the app boots). */
function collectRoutes(app: FastifyInstance): RouteOptions[] {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (r) => {
    routes.push(r);
  });
  return routes;
}

/** "GET /v1/timeouts/:endpoint" for every route the document must show. */
function declared(routes: RouteOptions[]): string[] {
  return routes
    .filter((r) => !r.schema?.hide)
    .flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => `${m} ${r.url}`))
    .filter((k) => !k.startsWith('HEAD '))
    .sort();
}

/** The same keys from an OpenAPI document: "/v1/timeouts/{endpoint}" → ":endpoint". */
function documented(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    .sort();
}

/** The keywords of an OpenAPI 3.0 Schema Object (OAS 3.0.3, §4.7.24): nothing else may appear. */
const OAS30_SCHEMA_KEYWORDS = new Set(
  (
    'title multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength ' +
    'pattern maxItems minItems uniqueItems maxProperties minProperties required enum type allOf ' +
    'oneOf anyOf not items properties additionalProperties description format default nullable ' +
    'discriminator readOnly writeOnly xml externalDocs example deprecated'
  ).split(' '),
);
const OAS30_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object']);

/**
 * What in `schema` is not an OpenAPI 3.0 Schema Object: a JSON Schema keyword of a later draft
 * (`const`, `$ref` to `$defs`, `prefixItems`, a type list or `null` type, numeric exclusive
 * bounds), which a generator upgrade or a new kind of zod schema could bring in.
 */
function notOas30(schema: unknown, path: string): string[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return [`${path}: not a schema object`];
  }
  const s = schema as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(s)) if (!OAS30_SCHEMA_KEYWORDS.has(k)) out.push(`${path}: ${k}`);
  if ('type' in s && !OAS30_TYPES.has(s.type as string)) {
    out.push(`${path}: type ${JSON.stringify(s.type)}`);
  }
  for (const k of ['exclusiveMinimum', 'exclusiveMaximum', 'nullable']) {
    if (k in s && typeof s[k] !== 'boolean') out.push(`${path}: ${k} is not a boolean`);
  }
  for (const [k, v] of Object.entries((s.properties as Record<string, unknown>) ?? {})) {
    out.push(...notOas30(v, `${path}.${k}`));
  }
  if (s.items !== undefined) out.push(...notOas30(s.items, `${path}[]`));
  if (typeof s.additionalProperties === 'object') {
    out.push(...notOas30(s.additionalProperties, `${path}.*`));
  }
  for (const k of ['allOf', 'oneOf', 'anyOf'] as const) {
    for (const [i, v] of ((s[k] as unknown[]) ?? []).entries()) {
      out.push(...notOas30(v, `${path}.${k}[${i}]`));
    }
  }
  if (s.not !== undefined) out.push(...notOas30(s.not, `${path}.not`));
  return out;
}

/** Every schema of every operation (parameters, request bodies, responses) checked by notOas30. */
function schemaProblems(doc: OpenApiDoc): string[] {
  const out: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops) as [string, Record<string, unknown>][]) {
      const at = `${method.toUpperCase()} ${path}`;
      for (const p of (op.parameters as { name: string; schema: unknown }[]) ?? []) {
        out.push(...notOas30(p.schema, `${at} parameter ${p.name}`));
      }
      const content = (c: unknown, where: string) => {
        for (const [type, media] of Object.entries(
          (c as Record<string, { schema: unknown }>) ?? {},
        )) {
          out.push(...notOas30(media.schema, `${where} ${type}`));
        }
      };
      content((op.requestBody as { content?: unknown } | undefined)?.content, `${at} body`);
      for (const [status, r] of Object.entries(
        (op.responses as Record<string, { content?: unknown }>) ?? {},
      )) {
        content(r.content, `${at} ${status}`);
      }
    }
  }
  return out;
}

type OpenApiDoc = {
  openapi: string;
  paths: Record<string, Record<string, { summary?: string; tags?: string[]; security?: unknown }>>;
  components?: { securitySchemes?: Record<string, unknown> };
};

describe('broker OpenAPI document', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-openapi-'));
  let broker: Broker;
  let routes: RouteOptions[];
  let url: string;
  let worker: RunningWorker;
  let doc: OpenApiDoc;

  before(async () => {
    const endpointsFile = join(dir, 'endpoints.config');
    writeFileSync(endpointsFile, 'customer | strategy=sigma\n');
    broker = buildBroker(brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 600_000 }), {
      logger: false,
    });
    // Never computed: no worker has its strategy. The list file refuses such a name, so it is
    // put in the store directly.
    broker.store.upsertEndpoint({ name: 'never-computed', options: { strategy: 'nope' } });
    routes = collectRoutes(broker.app);
    await broker.app.listen({ host: '127.0.0.1', port: 0 });
    url = localUrl(broker.app, '127.0.0.1');
    worker = await startWorker(
      workerConfig({ port: 0, brokerUrl: url, source: 'seed-sample', heartbeatMs: 60_000 }),
      { logger: false },
    );
    await waitFor(() => broker.registry.size === 1, 10_000);
    await broker.cycles.runCycle();
    doc = (await (await fetch(`${url}/docs/json`)).json()) as OpenApiDoc;
  });

  after(async () => {
    await worker?.close();
    await closeApp(broker.app);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is OpenAPI 3 and lists every route the broker serves, and nothing else', () => {
    assert.equal(doc.openapi, '3.0.3');
    // The schemas are generated from the protocol's zod schemas: all of them must be 3.0's.
    assert.deepEqual(schemaProblems(doc), []);
    assert.ok(declared(routes).length >= 18, declared(routes).join('\n'));
    assert.deepEqual(documented(doc), declared(routes));
  });

  it('documents every route: a summary, a tag, and an entry in the docs table', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        assert.ok(op.summary, `${method} ${path} has no summary`);
        assert.ok(!op.tags?.includes('undocumented'), `${method} ${path} is not documented`);
      }
    }
    // And the table has no entry for a route that does not exist.
    assert.deepEqual(Object.keys(brokerRouteDocs()).sort(), declared(routes));
  });

  it('shows which routes need a token', () => {
    assert.ok(doc.components?.securitySchemes?.readToken);
    assert.deepEqual(doc.paths['/v1/endpoints']?.get?.security, [{ readToken: [] }]);
    assert.deepEqual(doc.paths['/v1/workers']?.post?.security, [{ workerToken: [] }]);
    assert.equal(doc.paths['/healthz']?.get?.security, undefined);
  });

  it('documents the replies the broker really sends', async () => {
    const d = (key: string) => brokerRouteDocs()[key];
    const get = async (path: string, status: number, key: string) => {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, status, path);
      const body: unknown = await res.json();
      assert.deepEqual(mismatches(responseSchema(d(key), status), body), [], path);
    };
    await get('/v1/endpoints', 200, 'GET /v1/endpoints');
    await get('/v1/timeouts/customer', 200, 'GET /v1/timeouts/:endpoint');
    await get('/v1/timeouts/never-computed', 200, 'GET /v1/timeouts/:endpoint');
    await get('/v1/timeouts/unknown', 422, 'GET /v1/timeouts/:endpoint');
    await get('/v1/endpoints/customer/history', 200, 'GET /v1/endpoints/:endpoint/history');
    await get('/v1/endpoints/customer/history?limit=0', 400, 'GET /v1/endpoints/:endpoint/history');
    await get('/v1/cycles', 200, 'GET /v1/cycles');
    await get('/v1/workers', 200, 'GET /v1/workers');
    await get('/healthz', 200, 'GET /healthz');
    await get('/readyz', 200, 'GET /readyz');
    await get('/getendpoints', 200, 'GET /getendpoints');
    const reg = await fetch(`${url}/v1/workers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:1/' }),
    });
    assert.equal(reg.status, 201);
    const registered = (await reg.json()) as { id: string };
    assert.deepEqual(mismatches(responseSchema(d('POST /v1/workers'), 201), registered), []);
    const hb = await fetch(`${url}/v1/workers/${registered.id}/heartbeat`, { method: 'PUT' });
    assert.deepEqual(
      mismatches(responseSchema(d('PUT /v1/workers/:id/heartbeat'), 200), await hb.json()),
      [],
    );
    const put = await fetch(`${url}/v1/endpoints/added`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ alpha: 0.01 }),
    });
    assert.equal(put.status, 201);
    assert.deepEqual(
      mismatches(responseSchema(d('PUT /v1/endpoints/:endpoint'), 201), await put.json()),
      [],
    );
  });

  it('serves the docs page and its assets from the broker itself', async () => {
    const page = await fetch(`${url}/docs/static/index.html`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1)/, 'no asset from another host');
    const bundle = await fetch(`${url}/docs/static/swagger-ui-bundle.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
  });
});

describe('worker OpenAPI document', () => {
  let worker: WorkerApp;
  let routes: RouteOptions[];

  before(async () => {
    worker = buildWorker(workerConfig({ port: 0, register: false, source: 'seed-sample' }), {
      logger: false,
    });
    routes = collectRoutes(worker.app);
    await worker.app.ready();
  });
  after(() => worker.app.close());

  it('lists every route, each documented', async () => {
    const res = await worker.app.inject({ method: 'GET', url: '/docs/json' });
    const doc = res.json<OpenApiDoc>();
    assert.equal(doc.openapi, '3.0.3');
    assert.deepEqual(schemaProblems(doc), []);
    assert.deepEqual(documented(doc), declared(routes));
    assert.deepEqual(Object.keys(workerRouteDocs()).sort(), declared(routes));
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) assert.ok(!op.tags?.includes('undocumented'));
    }
  });

  it('documents the compute reply as it is', async () => {
    const res = await worker.app.inject({
      method: 'POST',
      url: '/v1/compute',
      payload: { endpoint: 'customer', strategy: 'adaptive' },
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      mismatches(responseSchema(workerRouteDocs()['POST /v1/compute'], 200), res.json()),
      [],
    );
    const bad = await worker.app.inject({
      method: 'POST',
      url: '/v1/compute',
      payload: { endpoint: 'customer', strategy: 'nope' },
    });
    assert.equal(bad.statusCode, 422);
    assert.deepEqual(
      mismatches(responseSchema(workerRouteDocs()['POST /v1/compute'], 422), bad.json()),
      [],
    );
  });
});

// OpenAPI document (@fastify/swagger) and a docs page at /docs (@fastify/swagger-ui, local assets).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

/** Documentation of one route, in Fastify's schema shape: summary, params, body, responses… */
export type RouteDoc = Record<string, unknown> & { summary: string; tags: string[] };

/** Docs by "METHOD /url" exactly as the route is declared, e.g. "GET /v1/timeouts/:endpoint". */
export type RouteDocs = Readonly<Record<string, RouteDoc>>;

/** Tag given to a route nobody documented, so that the gap shows in /docs and in the tests. */
export const UNDOCUMENTED_TAG = 'undocumented';

/** A JSON Schema object as the OpenAPI document holds it. */
export type JsonSchema = Record<string, unknown>;

/** The bounds `z.int()` states, which say nothing to a reader of the docs. */
const SAFE_INTEGER_BOUNDS = [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];

/**
 * The OpenAPI 3.0 schema of a protocol message (`src/protocol/`): the document is generated from
 * the zod schemas the code validates and types with, so the two cannot drift. `io: 'input'` for
 * what a route takes (fields with a default are optional), `'output'` for what it answers (they
 * are always there). Schemas are inlined, not `$ref`ed: @fastify/swagger builds the document
 * route by route and has no place for shared definitions from a route's schema. Two things are
 * left out because they only add noise to /docs: the ISO-time regex next to `format: date-time`
 * and the ±2⁵³ bounds of every integer.
 */
export function schemaOf(
  schema: z.ZodType,
  opts: { io?: 'input' | 'output'; description?: string } = {},
): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: opts.io ?? 'output',
    reused: 'inline',
    unrepresentable: 'any',
    override: ({ jsonSchema: js }) => {
      if (js.format === 'date-time') delete js.pattern;
      if (js.type === 'integer') {
        if (js.minimum === SAFE_INTEGER_BOUNDS[0]) delete js.minimum;
        if (js.maximum === SAFE_INTEGER_BOUNDS[1]) delete js.maximum;
      }
    },
  }) as JsonSchema;
  delete json.$schema;
  return opts.description === undefined ? json : { ...json, description: opts.description };
}

/** A documented text answer (the original's routes, metrics). */
export function textAnswer(description: string, example?: string): JsonSchema {
  return {
    description,
    content: {
      'text/plain': { schema: { type: 'string', ...(example === undefined ? {} : { example }) } },
    },
  };
}

/** The package's version, shown in both documents. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** `build` run once, on the first call. */
export function once<T>(build: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: build() }).v;
}

export interface OpenApiOptions {
  title: string;
  description: string;
  version: string;
  /**
   * The route table, built when the document is first asked for (generating the schemas takes
   * ~0.1 s in a fresh process: kept off every broker's and worker's start-up).
   */
  docs: () => RouteDocs;
  tags: { name: string; description: string }[];
  /**
   * What the route's own options say about it that the document must show (e.g. the token a
   * route needs, from its `config`), merged into its documentation.
   */
  fromRoute?: (route: { config?: unknown }) => Record<string, unknown>;
  /** `components.securitySchemes` of the document. */
  securitySchemes?: Record<string, { type: 'http'; scheme: string; description?: string }>;
}

/**
 * Registers the OpenAPI generator and the docs page. Call before any route is declared: the
 * generator collects routes as they are added.
 *
 * The docs live in a table next to each app (`src/broker/openapi.ts`, `src/worker/openapi.ts`)
 * and are merged in when the document is built, not set as the routes' `schema`: a route schema
 * would also make Fastify validate requests and serialise replies with it, replacing the API's
 * own error codes (zod, JitError) and dropping any reply field the schema does not list. A schema
 * a route declares itself takes precedence over the table.
 */
export function installOpenApi(app: FastifyInstance, opts: OpenApiOptions): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: opts.title, description: opts.description, version: opts.version },
      tags: [
        ...opts.tags,
        { name: UNDOCUMENTED_TAG, description: 'Routes without documentation (a bug).' },
      ],
      ...(opts.securitySchemes ? { components: { securitySchemes: opts.securitySchemes } } : {}),
    },
    transform: ({ schema, url, route }) => {
      const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method);
      const doc = opts.docs()[`${method} ${url}`];
      const own = (schema ?? {}) as Record<string, unknown>;
      const base: Record<string, unknown> = doc ?? {
        summary: `${method} ${url}`,
        tags: [UNDOCUMENTED_TAG],
      };
      const derived = opts.fromRoute?.(route) ?? {};
      const response = {
        ...(derived.response ?? {}),
        ...(base.response ?? {}),
        ...(own.response ?? {}),
      };
      return {
        schema: {
          ...base,
          ...derived,
          ...own,
          ...(Object.keys(response).length > 0 ? { response } : {}),
        },
        url,
      };
    },
  });
  void app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null },
    // The plugin's default policy has `upgrade-insecure-requests` (breaks the page on a plain-HTTP
    // broker reached by name) and allows styles from any https: host; ours: this origin only.
    staticCSP: [
      "default-src 'self'",
      "base-uri 'self'",
      "object-src 'none'",
      "script-src 'self'",
      "script-src-attr 'none'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self' data:",
      "frame-ancestors 'self'",
    ].join('; '),
  });
}

// OpenAPI document (@fastify/swagger) and a docs page at /docs (@fastify/swagger-ui, local assets).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** Documentation of one route, in Fastify's schema shape: summary, params, body, responses… */
export type RouteDoc = Record<string, unknown> & { summary: string; tags: string[] };

/** Docs by "METHOD /url" exactly as the route is declared, e.g. "GET /v1/timeouts/:endpoint". */
export type RouteDocs = Readonly<Record<string, RouteDoc>>;

/** Tag given to a route nobody documented, so that the gap shows in /docs and in the tests. */
export const UNDOCUMENTED_TAG = 'undocumented';

export interface OpenApiOptions {
  title: string;
  description: string;
  version: string;
  docs: RouteDocs;
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
      const doc = opts.docs[`${method} ${url}`];
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

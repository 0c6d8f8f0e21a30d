// The broker's API documentation: one entry per route, merged into the OpenAPI document.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { installOpenApi, type RouteDocs } from '../core/openapi.ts';

const s = (description: string, extra: Record<string, unknown> = {}) => ({
  type: 'string',
  description,
  ...extra,
});
const n = (description: string, extra: Record<string, unknown> = {}) => ({
  type: 'number',
  description,
  ...extra,
});
const i = (description: string, extra: Record<string, unknown> = {}) => ({
  type: 'integer',
  description,
  ...extra,
});
const nullable = <T extends Record<string, unknown>>(schema: T) => ({ ...schema, nullable: true });
const obj = (properties: Record<string, unknown>, description?: string) => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
  required: Object.keys(properties),
});

export const errorSchema = {
  type: 'object',
  description: 'Every error: a stable code (src/core/errors.ts) and a message.',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: s('Stable machine-readable code, e.g. UNKNOWN_ENDPOINT.'),
        message: s('What went wrong, for people.'),
        details: { type: 'object', additionalProperties: true },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
};
const error = (description: string) => ({ ...errorSchema, description });
const text = (description: string, example?: string) => ({
  description,
  content: {
    'text/plain': { schema: { type: 'string', ...(example ? { example } : {}) } },
  },
});

export const percentilesSchema = {
  type: 'object',
  description: 'Window percentiles (ms).',
  properties: { p50: n('ms'), p90: n('ms'), p99: n('ms'), p999: n('ms'), max: n('ms') },
  additionalProperties: { type: 'number' },
};

export const endpointViewSchema = obj(
  {
    endpoint: s('Endpoint name.'),
    // A number, not an integer: a fractional clamp (minMs=50.5) is served as it is.
    timeoutMs: n(
      'The timeout served now (ms): stored value with margin and clamps, or the default.',
    ),
    storedMs: nullable(n('Value after spike damping (ms); null until computed.')),
    status: s(
      'fresh: last computation succeeded; stale: it failed, the old value is kept; never: no value yet.',
      {
        enum: ['fresh', 'stale', 'never'],
      },
    ),
    strategy: nullable(s('Strategy of the last successful computation.')),
    alpha: n('Target false-timeout rate.'),
    options: {
      type: 'object',
      description: 'Per-endpoint settings from the endpoint list.',
      properties: { alpha: n(''), strategy: s(''), minMs: n(''), maxMs: n('') },
    },
    method: nullable(s('How the strategy computed the value.')),
    samples: nullable(i('Durations in the window.')),
    meanMs: nullable(n('Window mean (ms).')),
    sdMs: nullable(n('Window sample standard deviation (ms).')),
    percentilesMs: nullable(percentilesSchema),
    censored: nullable(i('Durations recognised as cut by the previous timeout.')),
    state: nullable({
      type: 'object',
      additionalProperties: true,
      description: 'Strategy state.',
    }),
    computedAt: nullable(s('Last successful computation.', { format: 'date-time' })),
    attemptedAt: nullable(s('Last attempt.', { format: 'date-time' })),
    lastError: nullable(s('Why the last attempt failed.')),
  },
  'One endpoint: what is served and how it was computed.',
);

const historyPointSchema = obj(
  {
    at: s('Time of the attempt.', { format: 'date-time' }),
    ok: { type: 'boolean' },
    computedMs: nullable(n("Worker's value before damping (ms).")),
    storedMs: nullable(n('Stored value after the attempt (ms).')),
    servedMs: nullable(n('Served value after the attempt (ms).')),
    strategy: nullable(s('')),
    samples: nullable(i('')),
    percentilesMs: nullable(percentilesSchema),
    error: nullable(s('Why the attempt failed.')),
  },
  'One computation of one endpoint.',
);

export const cycleSummarySchema = {
  ...obj({
    cycle: i('Cycle number since start.'),
    startedAt: s('', { format: 'date-time' }),
    durationMs: n(''),
    endpoints: i('Endpoints in the list.'),
    done: i('Endpoints computed.'),
    failed: i('Endpoints whose computation failed (they keep their value).'),
    workersUsed: i(''),
    skipped: s('Why the cycle did no work, when it did none.'),
  }),
  required: ['cycle', 'startedAt', 'durationMs', 'endpoints', 'done', 'failed', 'workersUsed'],
};

const workerViewSchema = obj({
  id: s('Id the broker gave the worker.'),
  url: s('URL the broker calls.'),
  protocol: s('v1: POST /v1/compute; legacy: GET /computetimeout.', { enum: ['v1', 'legacy'] }),
  concurrency: i('Jobs in flight at most.'),
  maxJobMs: nullable(i("The worker's longest job (its strategy's time budget), ms.")),
  maxBatch: i('Jobs the worker takes in one call (1: one job per call).'),
  registeredAt: s('', { format: 'date-time' }),
  lastHeartbeatAt: s('', { format: 'date-time' }),
  leaseExpiresAt: s('', { format: 'date-time' }),
  jobsDone: i(''),
  jobsFailed: i(''),
  inFlight: i(''),
  busy: { type: 'boolean' },
});

const endpointParam = {
  type: 'object',
  properties: { endpoint: s('Endpoint name (URL-encoded).') },
  required: ['endpoint'],
};
const workerIdParam = {
  type: 'object',
  properties: { id: s('Worker id.') },
  required: ['id'],
};

export const BROKER_ROUTE_DOCS: RouteDocs = {
  'GET /gettimeout': {
    summary: 'Served timeout of an endpoint (the original API)',
    description:
      'Whole milliseconds as text. The default (100) before anything was computed or for a listed endpoint never computed.',
    tags: ['original'],
    querystring: {
      type: 'object',
      properties: { url: s('Endpoint name.') },
      required: ['url'],
    },
    response: {
      200: text('Timeout in ms.', '221'),
      400: error('No `url` parameter.'),
      422: text('Unknown endpoint.', 'Endpoint Invalid'),
    },
  },
  'GET /getendpoints': {
    summary: 'Endpoints that have a value (the original API)',
    tags: ['original'],
    response: {
      200: { description: 'Names.', type: 'array', items: { type: 'string' } },
    },
  },
  'GET /register': {
    summary: "Register the caller's address as a worker on the legacy port (the original API)",
    tags: ['original'],
    response: { 200: text('Always 0.', '0') },
  },
  'GET /unregister': {
    summary: "Unregister the caller's address (the original API)",
    tags: ['original'],
    response: { 200: text('Always 0.', '0') },
  },
  'GET /v1/endpoints': {
    summary: 'Every endpoint with its served timeout, status and last computation',
    tags: ['endpoints'],
    response: {
      200: obj({ endpoints: { type: 'array', items: endpointViewSchema } }),
    },
  },
  'GET /v1/timeouts/:endpoint': {
    summary: 'One endpoint',
    tags: ['endpoints'],
    params: endpointParam,
    response: { 200: endpointViewSchema, 422: error('Unknown endpoint.') },
  },
  'GET /v1/endpoints/:endpoint/history': {
    summary: "An endpoint's computations over time, oldest first",
    tags: ['endpoints'],
    params: endpointParam,
    querystring: {
      type: 'object',
      properties: {
        sinceMs: n('Only points at or after this time (epoch ms). Default 0.'),
        limit: i('At most this many of the most recent points (1–100000). Default 1000.'),
      },
    },
    response: {
      200: obj({ endpoint: s(''), points: { type: 'array', items: historyPointSchema } }),
      400: error('Bad sinceMs or limit.'),
      422: error('Unknown endpoint.'),
    },
  },
  'GET /v1/cycles': {
    summary: 'The most recent cycles (at most 50, oldest first) and when the next one is due',
    tags: ['cycles'],
    response: {
      200: obj({
        cycles: { type: 'array', items: cycleSummarySchema },
        nextCycleAt: nullable(s('', { format: 'date-time' })),
      }),
    },
  },
  'GET /v1/workers': {
    summary: 'Registered workers',
    tags: ['workers'],
    response: { 200: obj({ workers: { type: 'array', items: workerViewSchema } }) },
  },
  'POST /v1/workers': {
    summary: 'Register a worker by the URL the broker reaches it at',
    description: 'The same URL again renews the registration and keeps its id.',
    tags: ['workers'],
    body: {
      type: 'object',
      properties: {
        url: s('http(s) URL without credentials, query or fragment.'),
        concurrency: i('Jobs at once (1–1024).'),
        maxJobMs: i("The worker's longest job, ms."),
        maxBatch: i('Jobs it takes in one call, POST /v1/compute/batch (1–1000; default 1).'),
      },
      required: ['url'],
      additionalProperties: false,
    },
    response: {
      201: obj({ id: s(''), url: s('Normalised URL.'), leaseMs: i('Heartbeat within this.') }),
      400: error('Malformed body or URL, or worker limit reached.'),
    },
  },
  'PUT /v1/workers/:id/heartbeat': {
    summary: "Renew a worker's lease",
    tags: ['workers'],
    params: workerIdParam,
    response: {
      200: obj({ id: s(''), leaseExpiresAt: s('', { format: 'date-time' }) }),
      404: error('Unknown worker id: register again.'),
    },
  },
  'DELETE /v1/workers/:id': {
    summary: 'Unregister a worker',
    tags: ['workers'],
    params: workerIdParam,
    response: {
      204: { description: 'Unregistered.', type: 'null' },
      404: error('Unknown worker id.'),
    },
  },
  'PUT /v1/endpoints/:endpoint': {
    summary: 'Add an endpoint, or change its settings',
    description:
      'Endpoints added here are kept in the store next to those of the endpoint list file.',
    tags: ['endpoints'],
    params: endpointParam,
    body: {
      type: 'object',
      properties: {
        alpha: n('Target false-timeout rate (0..1).'),
        strategy: s('Strategy name.'),
        minMs: n('Lower clamp on the served value (ms).'),
        maxMs: n('Upper clamp on the served value (ms).'),
      },
      additionalProperties: false,
    },
    response: {
      200: { ...endpointViewSchema, description: 'Updated.' },
      201: { ...endpointViewSchema, description: 'Added.' },
      400: error('Bad name or body.'),
      409: error('Endpoint limit reached.'),
    },
  },
  'DELETE /v1/endpoints/:endpoint': {
    summary: 'Remove an endpoint',
    tags: ['endpoints'],
    params: endpointParam,
    response: {
      204: { description: 'Removed.', type: 'null' },
      422: error('Unknown endpoint.'),
    },
  },
  'GET /healthz': {
    summary: 'Liveness',
    tags: ['operations'],
    response: { 200: obj({ status: s('', { enum: ['ok'] }) }) },
  },
  'GET /readyz': {
    summary: 'Readiness: 503 until the endpoint list was read',
    tags: ['operations'],
    response: {
      200: readySchema('Ready.'),
      503: readySchema('Not ready.'),
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    tags: ['operations'],
    response: { 200: text('Prometheus text exposition format.') },
  },
  'GET /': {
    summary: 'Dashboard (HTML)',
    tags: ['operations'],
    response: {
      200: { description: 'The dashboard page.', content: { 'text/html': { schema: s('') } } },
    },
  },
};

function readySchema(description: string) {
  return {
    ...obj({
      status: s('', { enum: ['ready', 'not-ready'] }),
      endpoints: i(''),
      workers: i(''),
      lastCycle: nullable(cycleSummarySchema),
      nextCycleAt: nullable(s('', { format: 'date-time' })),
    }),
    description,
  };
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function installBrokerOpenApi(app: FastifyInstance): void {
  installOpenApi(app, {
    title: 'JustInTimeout broker',
    description:
      "Per-endpoint timeouts computed from real latency. The original system's routes (text) and the v1 JSON API. Errors are JSON `{error: {code, message}}` except the original routes' 422 text.",
    version: packageVersion(),
    docs: BROKER_ROUTE_DOCS,
    // A route's token scope (src/broker/auth.ts) shows as its security requirement and a 401.
    fromRoute: (route) => {
      const scope = (route.config as { auth?: string } | undefined)?.auth;
      if (scope === undefined) return {};
      return {
        security: [{ [`${scope}Token`]: [] }],
        response: { 401: error(`Needs the ${scope} token, when the broker has one.`) },
      };
    },
    securitySchemes: Object.fromEntries(
      (
        [
          ['worker', 'Workers: register, heartbeat, unregister (--worker-token).'],
          ['admin', 'Adding and removing endpoints (--admin-token); also accepted for reads.'],
          ['read', 'Reads: timeouts, endpoints, history, workers, metrics (--read-token).'],
        ] as const
      ).map(([scope, description]) => [
        `${scope}Token`,
        {
          type: 'http' as const,
          scheme: 'bearer',
          description: `${description} Open when not set.`,
        },
      ]),
    ),
    tags: [
      { name: 'original', description: "The original system's routes, same paths and bodies." },
      { name: 'endpoints', description: 'Served timeouts and their history.' },
      { name: 'workers', description: 'Worker registry.' },
      { name: 'cycles', description: 'Computation cycles.' },
      { name: 'operations', description: 'Health, readiness, metrics, dashboard.' },
    ],
  });
}

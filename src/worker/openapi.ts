// The worker's API documentation: one entry per route, merged into the OpenAPI document.
import type { FastifyInstance } from 'fastify';
import { errorSchema, packageVersion, percentilesSchema } from '../broker/openapi.ts';
import { installOpenApi, type RouteDocs } from '../core/openapi.ts';

const error = (description: string) => ({ ...errorSchema, description });

const computeResultSchema = {
  type: 'object',
  description: 'The computed timeout and the window it came from (durations in ms).',
  properties: {
    endpoint: { type: 'string' },
    timeoutMs: {
      type: 'number',
      description: 'Computed timeout (ms), before the broker damps it.',
    },
    strategy: { type: 'string' },
    method: { type: 'string', description: 'How the strategy computed the value.' },
    alpha: { type: 'number' },
    source: { type: 'string', description: 'Latency source, e.g. influxdb.' },
    samples: { type: 'integer' },
    meanMs: { type: 'number' },
    sdMs: { type: 'number' },
    percentilesMs: percentilesSchema,
    computeMs: { type: 'number', description: 'Time the computation took (ms).' },
    censored: {
      type: 'integer',
      description: 'Durations recognised as cut by the previous timeout.',
    },
    state: { type: 'object', additionalProperties: true, description: 'Send back next time.' },
    placeholder: {
      type: 'boolean',
      description: 'Present (true) when the value is a no-data placeholder: not damped against.',
    },
  },
  required: [
    'endpoint',
    'timeoutMs',
    'strategy',
    'method',
    'alpha',
    'source',
    'samples',
    'meanMs',
    'sdMs',
    'percentilesMs',
    'computeMs',
    'censored',
  ],
};

const computeJobSchema = {
  type: 'object',
  properties: {
    endpoint: { type: 'string' },
    alpha: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    strategy: { type: 'string', description: "Default: the worker's --strategy." },
    previous: {
      type: 'object',
      properties: {
        servedMs: { type: 'number' },
        computedAtMs: { type: 'number' },
        state: { type: 'object', additionalProperties: true },
      },
      required: ['servedMs', 'computedAtMs'],
    },
  },
  required: ['endpoint'],
};

const computeErrors = {
  400: error('Bad endpoint name or body.'),
  422: error('Unknown strategy, or not enough data for it.'),
  502: error('The latency source refused the query.'),
  503: error('The latency source is unreachable.'),
};

export const WORKER_ROUTE_DOCS: RouteDocs = {
  'GET /computetimeout': {
    summary: "Compute an endpoint's timeout (the original API)",
    tags: ['original'],
    querystring: {
      type: 'object',
      properties: { url: { type: 'string', description: 'Endpoint name.' } },
      required: ['url'],
    },
    response: {
      200: {
        description: 'Timeout in ms.',
        content: { 'text/plain': { schema: { type: 'string', example: '4438.2' } } },
      },
      ...computeErrors,
    },
  },
  'POST /v1/compute': {
    summary: "Compute an endpoint's timeout",
    description:
      'The broker sends the previous computation (served value, when, strategy state) so that the worker stays stateless.',
    tags: ['compute'],
    body: computeJobSchema,
    response: { 200: computeResultSchema, ...computeErrors },
  },
  'POST /v1/compute/batch': {
    summary: 'Compute several endpoints’ timeouts in one call',
    description:
      'The jobs run one after another; each answers its result or its own error, in order. Saves the broker a round trip per job. At most `--max-batch` jobs (announced at registration).',
    tags: ['compute'],
    body: {
      type: 'object',
      properties: { jobs: { type: 'array', items: computeJobSchema, minItems: 1 } },
      required: ['jobs'],
    },
    response: {
      200: {
        type: 'object',
        properties: {
          results: {
            type: 'array',
            description: 'One item per job, in order: its result, or `{status, error}`.',
            items: {
              oneOf: [
                computeResultSchema,
                {
                  type: 'object',
                  description: 'The job failed: the status and error its own call would answer.',
                  properties: { status: { type: 'integer' }, error: errorSchema.properties.error },
                  required: ['status', 'error'],
                },
              ],
            },
          },
        },
        required: ['results'],
      },
      400: error('Bad body, or more jobs than the worker takes.'),
    },
  },
  'GET /healthz': {
    summary: 'Liveness',
    tags: ['operations'],
    response: {
      200: {
        type: 'object',
        properties: { status: { type: 'string' }, inFlight: { type: 'integer' } },
        required: ['status', 'inFlight'],
      },
    },
  },
  'GET /readyz': {
    summary: 'Readiness: the latency source answers',
    tags: ['operations'],
    response: {
      200: {
        type: 'object',
        properties: { status: { type: 'string' }, source: { type: 'string' } },
        required: ['status', 'source'],
      },
      503: {
        type: 'object',
        description: 'The source does not answer.',
        properties: {
          status: { type: 'string' },
          source: { type: 'string' },
          error: { type: 'string' },
        },
        required: ['status', 'source', 'error'],
      },
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    tags: ['operations'],
    response: {
      200: {
        description: 'Prometheus text exposition format.',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  },
};

export function installWorkerOpenApi(app: FastifyInstance): void {
  installOpenApi(app, {
    title: 'JustInTimeout worker',
    description:
      "Computes one endpoint's timeout on request from its recent latency. Errors are JSON `{error: {code, message}}`.",
    version: packageVersion(),
    docs: WORKER_ROUTE_DOCS,
    tags: [
      { name: 'original', description: "The original system's route." },
      { name: 'compute', description: 'Timeout computation (what the broker calls).' },
      { name: 'operations', description: 'Health, readiness, metrics.' },
    ],
  });
}

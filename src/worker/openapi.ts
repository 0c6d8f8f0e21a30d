// The worker's API documentation: each route's summary and its messages, generated from the protocol's zod schemas.
import type { FastifyInstance } from 'fastify';
import {
  installOpenApi,
  once,
  packageVersion,
  schemaOf,
  textAnswer,
  type JsonSchema,
  type RouteDocs,
} from '../core/openapi.ts';
import {
  batchReplySchema,
  batchRequestSchema,
  computeJobSchema,
  computeResultSchema,
  computeTimeoutQuerySchema,
  errorBodySchema,
  workerHealthSchema,
  workerReadySchema,
} from '../protocol/worker-api.ts';

const error = (description: string): JsonSchema => schemaOf(errorBodySchema, { description });

/** Each route's documentation, by "METHOD /url" as declared; built on first use. */
export const workerRouteDocs = once((): RouteDocs => {
  const computeErrors = {
    400: error('Bad endpoint name or body.'),
    422: error('Unknown strategy, or not enough data for it.'),
    502: error('The latency source refused the query.'),
    503: error('The latency source is unreachable.'),
  };
  return {
    'GET /computetimeout': {
      summary: "Compute an endpoint's timeout (the original API)",
      tags: ['original'],
      querystring: schemaOf(computeTimeoutQuerySchema, { io: 'input' }),
      response: { 200: textAnswer('Timeout in ms.', '4438.2'), ...computeErrors },
    },
    'POST /v1/compute': {
      summary: "Compute an endpoint's timeout",
      description:
        'The broker sends the previous computation (served value, when, strategy state) so that the worker stays stateless.',
      tags: ['compute'],
      body: schemaOf(computeJobSchema, { io: 'input' }),
      response: { 200: schemaOf(computeResultSchema), ...computeErrors },
    },
    'POST /v1/compute/batch': {
      summary: 'Compute several endpoints’ timeouts in one call',
      description:
        'The jobs run one after another; each answers its result or its own error, in order. Saves the broker a round trip per job. At most `--max-batch` jobs (announced at registration).',
      tags: ['compute'],
      body: schemaOf(batchRequestSchema(), { io: 'input' }),
      response: {
        200: schemaOf(batchReplySchema),
        400: error('Bad body, or more jobs than the worker takes.'),
      },
    },
    'GET /healthz': {
      summary: 'Liveness',
      tags: ['operations'],
      response: { 200: schemaOf(workerHealthSchema) },
    },
    'GET /readyz': {
      summary: 'Readiness: the latency source answers',
      tags: ['operations'],
      response: {
        200: schemaOf(workerReadySchema, { description: 'Ready.' }),
        503: schemaOf(workerReadySchema, {
          description:
            'The source does not answer (unreachable, refused, or the database is missing): the worker does not register until it does.',
        }),
      },
    },
    'GET /metrics': {
      summary: 'Prometheus metrics',
      tags: ['operations'],
      response: { 200: textAnswer('Prometheus text exposition format.') },
    },
  };
});

export function installWorkerOpenApi(app: FastifyInstance): void {
  installOpenApi(app, {
    title: 'JustInTimeout worker',
    description:
      "Computes one endpoint's timeout on request from its recent latency. Errors are JSON `{error: {code, message}}`.",
    version: packageVersion(),
    docs: workerRouteDocs,
    tags: [
      { name: 'original', description: "The original system's route." },
      { name: 'compute', description: 'Timeout computation (what the broker calls).' },
      { name: 'operations', description: 'Health, readiness, metrics.' },
    ],
  });
}

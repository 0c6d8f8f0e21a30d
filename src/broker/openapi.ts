// The broker's API documentation: each route's summary and its messages, generated from the protocol's zod schemas.
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
  brokerHealthSchema,
  brokerReadySchema,
  cyclesReplySchema,
  discoveredReplySchema,
  discoveredRequestSchema,
  endpointNamesSchema,
  endpointParamsSchema,
  endpointsReplySchema,
  endpointViewSchema,
  getTimeoutQuerySchema,
  heartbeatReplySchema,
  historyQuerySchema,
  historyReplySchema,
  registerReplySchema,
  registerRequestSchema,
  windowQuerySchema,
  windowReplySchema,
  workerIdParamsSchema,
  workersReplySchema,
} from '../protocol/broker-api.ts';
import { errorBodySchema } from '../protocol/worker-api.ts';
import { endpointOptionsSchema } from './routes-v1.ts';

/** An error answer: the one error body, with what this status means on this route. */
const error = (description: string): JsonSchema => schemaOf(errorBodySchema, { description });
/** A JSON answer. */
const answer = (schema: Parameters<typeof schemaOf>[0], description?: string): JsonSchema =>
  schemaOf(schema, description === undefined ? {} : { description });
/** What a route takes (query, path parameters, body): fields with a default are optional. */
const input = (schema: Parameters<typeof schemaOf>[0]): JsonSchema =>
  schemaOf(schema, { io: 'input' });
const noContent = (description: string): JsonSchema => ({ description, type: 'null' });

/** Each route's documentation, by "METHOD /url" as declared; built on first use. */
export const brokerRouteDocs = once((): RouteDocs => {
  const endpointView = answer(endpointViewSchema);
  return {
    'GET /gettimeout': {
      summary: 'Served timeout of an endpoint (the original API)',
      description:
        'Whole milliseconds as text. The default (100) before anything was computed or for a listed endpoint never computed.',
      tags: ['original'],
      querystring: input(getTimeoutQuerySchema),
      response: {
        200: textAnswer('Timeout in ms.', '220'),
        400: error('No `url` parameter.'),
        422: textAnswer('Unknown endpoint.', 'Endpoint Invalid'),
      },
    },
    'GET /getendpoints': {
      summary: 'Endpoints that have a value (the original API)',
      tags: ['original'],
      response: { 200: answer(endpointNamesSchema) },
    },
    'GET /register': {
      summary: "Register the caller's address as a worker on the legacy port (the original API)",
      tags: ['original'],
      response: { 200: textAnswer('Always 0.', '0') },
    },
    'GET /unregister': {
      summary: "Unregister the caller's address (the original API)",
      tags: ['original'],
      response: { 200: textAnswer('Always 0.', '0') },
    },
    'GET /v1/endpoints': {
      summary: 'Every endpoint with its served timeout, status and last computation',
      tags: ['endpoints'],
      response: { 200: answer(endpointsReplySchema) },
    },
    'GET /v1/timeouts/:endpoint': {
      summary: 'One endpoint',
      tags: ['endpoints'],
      params: input(endpointParamsSchema),
      response: { 200: endpointView, 422: error('Unknown endpoint.') },
    },
    'GET /v1/endpoints/:endpoint/history': {
      summary: "An endpoint's computations over time, oldest first",
      tags: ['endpoints'],
      params: input(endpointParamsSchema),
      querystring: input(historyQuerySchema),
      response: {
        200: answer(historyReplySchema),
        400: error('Bad sinceMs or limit.'),
        422: error('Unknown endpoint.'),
      },
    },
    'GET /v1/windows/:endpoint': {
      summary:
        "An endpoint's span window kept by the OTLP receiver (what workers with source otlp read)",
      description:
        'Needs the worker token when one is set. Answers an empty window for an endpoint without spans.',
      tags: ['workers'],
      params: input(endpointParamsSchema),
      querystring: input(windowQuerySchema),
      response: {
        200: answer(windowReplySchema),
        400: error('Bad endpoint name, limit or windowHours.'),
        404: error('The OTLP receiver is off (`--otlp-port 0`): no windows are kept.'),
      },
    },
    'POST /v1/discovered': {
      summary: "A worker's report of the endpoint names its source holds (worker --discover)",
      description:
        'Needs the worker token when one is set. New names are admitted as the OTLP receiver admits them (--discovery-allow, --discovery-deny, --max-endpoints) and join the list with origin `discovered`; one no worker reports for --discovery-max-age-hours is dropped.',
      tags: ['workers'],
      body: input(discoveredRequestSchema),
      response: {
        200: answer(discoveredReplySchema),
        400: error('Malformed body.'),
      },
    },
    'GET /v1/cycles': {
      summary: 'The most recent cycles (at most 50, oldest first) and when the next one is due',
      tags: ['cycles'],
      response: { 200: answer(cyclesReplySchema) },
    },
    'GET /v1/workers': {
      summary: 'Registered workers',
      tags: ['workers'],
      response: { 200: answer(workersReplySchema) },
    },
    'POST /v1/workers': {
      summary: 'Register a worker by the URL the broker reaches it at',
      description: 'The same URL again renews the registration and keeps its id.',
      tags: ['workers'],
      body: input(registerRequestSchema),
      response: {
        201: answer(registerReplySchema),
        400: error('Malformed body or URL.'),
        409: error('Worker limit reached.'),
      },
    },
    'PUT /v1/workers/:id/heartbeat': {
      summary: "Renew a worker's lease",
      tags: ['workers'],
      params: input(workerIdParamsSchema),
      response: {
        200: answer(heartbeatReplySchema),
        404: error('Unknown worker id: register again.'),
      },
    },
    'DELETE /v1/workers/:id': {
      summary: 'Unregister a worker',
      tags: ['workers'],
      params: input(workerIdParamsSchema),
      response: { 204: noContent('Unregistered.'), 404: error('Unknown worker id.') },
    },
    'PUT /v1/endpoints/:endpoint': {
      summary: 'Add an endpoint, or change its settings',
      description:
        'Endpoints added here are kept in the store next to those of the endpoint list file.',
      tags: ['endpoints'],
      params: input(endpointParamsSchema),
      body: input(endpointOptionsSchema),
      response: {
        200: { ...endpointView, description: 'Updated.' },
        201: { ...endpointView, description: 'Added.' },
        400: error('Bad name or body.'),
        409: error('Endpoint limit reached.'),
      },
    },
    'DELETE /v1/endpoints/:endpoint': {
      summary: 'Remove an endpoint',
      tags: ['endpoints'],
      params: input(endpointParamsSchema),
      response: { 204: noContent('Removed.'), 422: error('Unknown endpoint.') },
    },
    'GET /healthz': {
      summary: 'Liveness',
      tags: ['operations'],
      response: { 200: answer(brokerHealthSchema) },
    },
    'GET /readyz': {
      summary: 'Readiness: 503 until the endpoint list was read',
      tags: ['operations'],
      response: {
        200: answer(brokerReadySchema, 'Ready.'),
        503: answer(brokerReadySchema, 'Not ready.'),
      },
    },
    'GET /metrics': {
      summary: 'Prometheus metrics',
      tags: ['operations'],
      response: { 200: textAnswer('Prometheus text exposition format.') },
    },
    'GET /': {
      summary: 'Dashboard (HTML)',
      tags: ['operations'],
      response: {
        200: {
          description: 'The dashboard page.',
          content: { 'text/html': { schema: { type: 'string' } } },
        },
      },
    },
  };
});

export function installBrokerOpenApi(app: FastifyInstance): void {
  installOpenApi(app, {
    title: 'JustInTimeout broker',
    description:
      "Per-endpoint timeouts computed from real latency. The original system's routes (text) and the v1 JSON API. Errors are JSON `{error: {code, message}}` except the original routes' 422 text.",
    version: packageVersion(),
    docs: brokerRouteDocs,
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

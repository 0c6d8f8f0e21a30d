// The broker's JSON API: endpoints, timeouts, worker registry, health and readiness.
import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertEndpointName } from '../core/endpoint-name.ts';
import {
  EndpointLimitError,
  InvalidBodyError,
  InvalidParameterError,
  InvalidStrategyError,
  OtlpReceiverOffError,
  UnknownEndpointError,
} from '../core/errors.ts';
import {
  discoveredRequestSchema,
  MAX_DISCOVERED_NAMES,
  registerRequestSchema,
  type DiscoveredReply,
  type HeartbeatReply,
  type RegisterReply,
  type WindowReply,
  type WorkerView,
} from '../protocol/broker-api.ts';
import { BUILT_IN_STRATEGIES } from '../strategies/names.ts';
import type { SpanWindows } from '../store/span-window-types.ts';
import type { EndpointRecord, TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';
import type { CycleRunner } from './cycle.ts';
import type { Discovery } from './discovery.ts';
import { JSON_TYPE } from './serve.ts';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.ts';

/** `PUT /v1/endpoints/:endpoint`'s body (its OpenAPI schema is generated from this). */
export const endpointOptionsSchema = z
  .object({
    alpha: z.number().gt(0).lt(1).optional(),
    strategy: z
      .string()
      .regex(/^[\w-]{1,64}$/)
      .optional(),
    minMs: z.number().finite().min(0).optional(),
    maxMs: z.number().finite().positive().optional(),
  })
  .strict()
  .refine((o) => o.minMs === undefined || o.maxMs === undefined || o.minMs <= o.maxMs, {
    message: 'minMs must not exceed maxMs',
  });

export interface V1RoutesDeps {
  config: Readonly<BrokerConfig>;
  log: FastifyBaseLogger;
  store: TimeoutStore;
  registry: WorkerRegistry;
  cycles: CycleRunner;
  /** The JSON text of an endpoint's view (`endpointViewCache`), shared with the hot-read path. */
  viewJson: (rec: EndpointRecord) => string;
  /** The OTLP receiver's span windows; undefined when it is off. */
  windows?: SpanWindows | undefined;
  /** Admits the names workers report (`POST /v1/discovered`). */
  discovery: Discovery;
}

function workerView(w: WorkerRecord): WorkerView {
  return {
    id: w.id,
    url: w.url,
    protocol: w.protocol,
    concurrency: w.concurrency,
    maxJobMs: w.maxJobMs ?? null,
    maxBatch: w.maxBatch,
    registeredAt: new Date(w.registeredAt).toISOString(),
    lastHeartbeatAt: new Date(w.lastHeartbeatAt).toISOString(),
    leaseExpiresAt: new Date(w.lastHeartbeatAt + w.leaseMs).toISOString(),
    jobsDone: w.jobsDone,
    jobsFailed: w.jobsFailed,
    inFlight: w.inFlight,
    busy: w.inFlight > 0,
  };
}

/** Endpoints whose view texts go out in one piece of the list's answer. */
const LIST_CHUNK = 1000;

/**
 * The `GET /v1/endpoints` answer, in pieces of `LIST_CHUNK` endpoints: at 100 000 endpoints the
 * whole text is ~72 MB, and building it as one string raised the broker's RSS by 80–270 MB
 * (BENCHMARKS.md, "PostgreSQL store"). Records never change, so the pieces are of one list.
 */
export function* endpointsJson(
  records: readonly EndpointRecord[],
  viewJson: (rec: EndpointRecord) => string,
): Generator<string> {
  yield '{"endpoints":[';
  for (let i = 0; i < records.length; i += LIST_CHUNK) {
    yield (
      (i === 0 ? '' : ',') +
      records
        .slice(i, i + LIST_CHUNK)
        .map(viewJson)
        .join(',')
    );
  }
  yield ']}';
}

export function v1Routes(app: FastifyInstance, deps: V1RoutesDeps): void {
  const { config, store, registry, cycles, log, viewJson, windows, discovery } = deps;

  const read = { config: { auth: 'read' as const } };
  const limit = { max: config.rateLimitPerMinute, timeWindow: 60_000 };
  const worker = { config: { auth: 'worker' as const, rateLimit: limit } };
  const admin = { config: { auth: 'admin' as const, rateLimit: limit } };

  app.get('/v1/endpoints', read, (_req, reply) =>
    reply.type(JSON_TYPE).send(Readable.from(endpointsJson(store.list(), viewJson))),
  );

  app.get<{ Params: { endpoint: string } }>('/v1/timeouts/:endpoint', read, (req, reply) => {
    const rec = store.get(req.params.endpoint);
    if (!rec) throw new UnknownEndpointError(req.params.endpoint);
    return reply.type(JSON_TYPE).send(viewJson(rec));
  });

  app.get<{ Params: { endpoint: string }; Querystring: { sinceMs?: string; limit?: string } }>(
    '/v1/endpoints/:endpoint/history',
    read,
    async (req) => {
      if (!store.get(req.params.endpoint)) throw new UnknownEndpointError(req.params.endpoint);
      const sinceMs = Number(req.query.sinceMs ?? 0);
      const limit = Number(req.query.limit ?? 1000);
      if (!Number.isFinite(sinceMs)) throw new InvalidParameterError('sinceMs', 'not a number');
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
        throw new InvalidParameterError('limit', 'must be an integer from 1 to 100000');
      }
      return {
        endpoint: req.params.endpoint,
        // A PostgreSQL-backed broker keeps only recent points in memory: the rest is read there.
        points: store.readHistory
          ? await store.readHistory(req.params.endpoint, { sinceMs, limit })
          : store.history(req.params.endpoint, { sinceMs, limit }),
      };
    },
  );

  app.get('/v1/cycles', read, () => ({
    cycles: cycles.recent,
    nextCycleAt: cycles.nextAt ? new Date(cycles.nextAt).toISOString() : null,
  }));

  app.get('/v1/workers', read, () => ({ workers: registry.list().map(workerView) }));

  app.post('/v1/workers', worker, (req, reply) => {
    const parsed = registerRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new InvalidBodyError(
        'body must be {"url": string, "concurrency"?: integer, "maxJobMs"?: integer, "maxBatch"?: integer}',
        parsed.error.issues,
      );
    }
    const w = registry.register(
      parsed.data.url,
      'v1',
      parsed.data.concurrency,
      parsed.data.maxJobMs,
      parsed.data.maxBatch,
    );
    log.info({ workerId: w.id, url: w.url }, 'worker registered');
    // The last cycle found nobody to work: start the next one now rather than after the pause.
    if (cycles.last?.skipped === 'No workers registered') cycles.kick();
    return reply
      .code(201)
      .send({ id: w.id, url: w.url, leaseMs: w.leaseMs } satisfies RegisterReply);
  });

  // Heartbeats come every few seconds from every worker: authenticated, but not rate-limited.
  app.put<{ Params: { id: string } }>(
    '/v1/workers/:id/heartbeat',
    { config: { auth: 'worker' } },
    (req): HeartbeatReply => {
      const w = registry.heartbeat(req.params.id);
      return { id: w.id, leaseExpiresAt: new Date(w.lastHeartbeatAt + w.leaseMs).toISOString() };
    },
  );

  app.delete<{ Params: { id: string } }>('/v1/workers/:id', worker, (req, reply) => {
    registry.unregister(req.params.id);
    log.info({ workerId: req.params.id }, 'worker unregistered');
    return reply.code(204).send();
  });

  app.put<{ Params: { endpoint: string } }>('/v1/endpoints/:endpoint', admin, (req, reply) => {
    const name = assertEndpointName(req.params.endpoint);
    const parsed = endpointOptionsSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      throw new InvalidBodyError(
        'body must be {"alpha"?: number, "strategy"?: string, "minMs"?: number, "maxMs"?: number}',
        parsed.error.issues,
      );
    }
    // Checked here rather than at each cycle, where an unknown name would fail every job and
    // leave the endpoint at its old value. The broker never builds strategies: the built-in names.
    const { strategy } = parsed.data;
    if (strategy !== undefined && !(BUILT_IN_STRATEGIES as readonly string[]).includes(strategy)) {
      throw new InvalidStrategyError(strategy, BUILT_IN_STRATEGIES);
    }
    const existed = store.get(name) !== undefined;
    if (!existed && store.size >= config.maxEndpoints)
      throw new EndpointLimitError(config.maxEndpoints);
    const rec = store.upsertEndpoint({ name, options: parsed.data });
    log.info(
      { endpoint: name, options: parsed.data },
      existed ? 'endpoint updated' : 'endpoint added',
    );
    return reply
      .code(existed ? 200 : 201)
      .type(JSON_TYPE)
      .send(viewJson(rec));
  });

  app.delete<{ Params: { endpoint: string } }>('/v1/endpoints/:endpoint', admin, (req, reply) => {
    if (!store.removeEndpoint(req.params.endpoint))
      throw new UnknownEndpointError(req.params.endpoint);
    log.info({ endpoint: req.params.endpoint }, 'endpoint removed');
    return reply.code(204).send();
  });

  // Workers with source `otlp` read the windows here, once per endpoint per cycle: worker token,
  // not rate-limited (as heartbeats).
  app.get<{ Params: { endpoint: string }; Querystring: { limit?: string; windowHours?: string } }>(
    '/v1/windows/:endpoint',
    { config: { auth: 'worker' } },
    (req): WindowReply => {
      if (windows === undefined) throw new OtlpReceiverOffError();
      const endpoint = assertEndpointName(req.params.endpoint);
      const limit = Number(req.query.limit ?? 5000);
      const windowHours = Number(req.query.windowHours ?? 48);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000)
        throw new InvalidParameterError('limit', 'must be an integer from 1 to 1000000');
      if (!Number.isFinite(windowHours) || windowHours <= 0)
        throw new InvalidParameterError('windowHours', 'must be a positive number');
      const w = windows.read(endpoint, { limit, sinceMs: Date.now() - windowHours * 3_600_000 });
      return {
        endpoint,
        durationsMs: w.durationsMs,
        timestampsMs: w.timestampsMs,
        failed: w.failed,
      };
    },
  );

  // Workers with --discover report the endpoints their source holds, once a minute or so.
  app.post('/v1/discovered', worker, (req): DiscoveredReply => {
    const parsed = discoveredRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new InvalidBodyError(
        `body must be {"source": string, "names": [string, …]} with at most ${MAX_DISCOVERED_NAMES} names`,
        parsed.error.issues,
      );
    }
    return discovery.report(parsed.data.source, parsed.data.names);
  });

  app.get('/healthz', () => ({ status: 'ok' }));

  app.get('/readyz', (_req, reply) => {
    const body = {
      status: cycles.listLoaded ? 'ready' : 'not-ready',
      endpoints: store.list().length,
      workers: registry.list().length,
      lastCycle: cycles.last ?? null,
      nextCycleAt: cycles.nextAt ? new Date(cycles.nextAt).toISOString() : null,
    };
    return reply.code(cycles.listLoaded ? 200 : 503).send(body);
  });
}

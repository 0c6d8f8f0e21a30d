// The original system's routes, same paths, parameters, status codes and text bodies (SPEC §2).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, JitError, MissingParameterError } from '../core/errors.ts';
import type { TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';
import type { CycleRunner } from './cycle.ts';
import { servedFor, TEXT_TYPE } from './serve.ts';
import type { WorkerRegistry } from './worker-registry.ts';

export interface OriginalRoutesDeps {
  config: Readonly<BrokerConfig>;
  store: TimeoutStore;
  registry: WorkerRegistry;
  cycles: CycleRunner;
}

/** The caller's address as a worker URL on the original's fixed port. */
function callerWorkerUrl(req: FastifyRequest, port: number): string {
  const ip = req.ip.startsWith('::ffff:') ? req.ip.slice(7) : req.ip;
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

export function originalRoutes(app: FastifyInstance, deps: OriginalRoutesDeps): void {
  const { config, store, registry, cycles } = deps;

  const read = { config: { auth: 'read' as const } };
  // The original's registration carries no credentials: with a worker token it is switched off.
  const legacyRegistration = () => {
    if (config.workerToken !== undefined) {
      throw new ForbiddenError(
        'GET /register and /unregister are off: a worker token is configured; use POST /v1/workers',
      );
    }
  };
  const rateLimited = {
    config: { rateLimit: { max: config.rateLimitPerMinute, timeWindow: 60_000 } },
  };

  app.get('/gettimeout', read, (req, reply) => {
    const url = (req.query as Record<string, unknown>).url;
    if (typeof url !== 'string') throw new MissingParameterError('url');
    let value: number;
    try {
      value = servedFor(store, config, url);
    } catch (err) {
      // The original answers an unknown endpoint with exactly this text and status.
      if (err instanceof JitError && err.code === 'UNKNOWN_ENDPOINT') {
        return reply.code(422).type(TEXT_TYPE).send('Endpoint Invalid');
      }
      throw err;
    }
    return reply.type(TEXT_TYPE).send(String(value));
  });

  app.get('/getendpoints', read, (_req, reply) => {
    const names = store
      .list()
      .filter((r) => r.storedMs !== undefined)
      .map((r) => r.name);
    return reply.type('application/json').send(JSON.stringify(names));
  });

  app.get('/register', rateLimited, (req, reply) => {
    legacyRegistration();
    registry.register(callerWorkerUrl(req, config.legacyWorkerPort), 'legacy');
    if (cycles.last?.skipped === 'No workers registered') cycles.kick();
    return reply.type(TEXT_TYPE).send('0');
  });

  app.get('/unregister', rateLimited, (req, reply) => {
    legacyRegistration();
    registry.unregisterUrl(callerWorkerUrl(req, config.legacyWorkerPort));
    return reply.type(TEXT_TYPE).send('0');
  });
}

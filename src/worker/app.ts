// Worker HTTP app factory: /computetimeout (original), /v1/compute (JSON), /healthz. No listen here.
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InvalidBodyError, MissingParameterError } from '../core/errors.ts';
import { installErrorHandlers } from '../core/http-errors.ts';
import { createSource } from '../sources/registry.ts';
import type { LatencySource } from '../sources/types.ts';
import { Computer } from './compute.ts';
import type { WorkerConfig } from './config.ts';
import { installWorkerMetrics } from './metrics.ts';
import { installWorkerOpenApi } from './openapi.ts';

const computeBodySchema = z.object({
  endpoint: z.string(),
  alpha: z.number().gt(0).lt(1).optional(),
  strategy: z.string().min(1).max(64).optional(),
  previous: z
    .object({
      servedMs: z.number().finite().positive(),
      computedAtMs: z.number().finite(),
      state: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});

export interface WorkerDeps {
  /** Overrides the configured source (tests, embedding). */
  source?: LatencySource;
  /** pino logger options or false; default logs at info. */
  logger?: boolean | Record<string, unknown>;
}

export interface WorkerApp {
  app: FastifyInstance;
  computer: Computer;
  source: LatencySource;
  /** Jobs completed and failed since start. */
  stats: { done: number; failed: number; inFlight: number };
}

export function buildWorker(config: Readonly<WorkerConfig>, deps: WorkerDeps = {}): WorkerApp {
  const source = deps.source ?? createSource(config.source, { ...config.sourceOptions });
  const computer = new Computer(config, source);
  const stats = { done: 0, failed: 0, inFlight: 0 };
  const app = Fastify({ logger: deps.logger ?? true, bodyLimit: 64 * 1024 });
  installErrorHandlers(app);
  installWorkerOpenApi(app);
  // Routes are declared in a plugin, so that the OpenAPI generator (loaded first) sees them.
  void app.register((routes) => {
    const metrics = installWorkerMetrics(routes, { source: source.name, stats });

    async function run(req: Parameters<Computer['compute']>[0]) {
      stats.inFlight++;
      const jobDone = metrics.jobStarted(req.strategy ?? config.strategy);
      try {
        const result = await computer.compute(req);
        stats.done++;
        jobDone();
        return result;
      } catch (err) {
        stats.failed++;
        jobDone(err);
        throw err;
      } finally {
        stats.inFlight--;
      }
    }

    // The original's route: text body, milliseconds.
    routes.get('/computetimeout', async (req, reply) => {
      const url = (req.query as Record<string, unknown>).url;
      if (typeof url !== 'string') throw new MissingParameterError('url');
      req.log = req.log.child({ endpoint: url }); // every log line of this job names its endpoint
      const result = await run({ endpoint: url });
      return reply.type('text/plain; charset=utf-8').send(String(result.timeoutMs));
    });

    routes.post('/v1/compute', async (req) => {
      const parsed = computeBodySchema.safeParse(req.body);
      if (!parsed.success) {
        throw new InvalidBodyError(
          'body must be {"endpoint": string, "alpha"?: number, "strategy"?: string, "previous"?: {"servedMs", "computedAtMs", "state"?}}',
          parsed.error.issues,
        );
      }
      req.log = req.log.child({ endpoint: parsed.data.endpoint });
      return run(parsed.data);
    });

    routes.get('/healthz', () => ({ status: 'ok', inFlight: stats.inFlight }));

    routes.get('/readyz', async (_req, reply) => {
      try {
        await source.check();
        return { status: 'ready', source: source.name };
      } catch (err) {
        return reply.code(503).send({
          status: 'not-ready',
          source: source.name,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    });
    return Promise.resolve();
  });

  app.addHook('onClose', async () => {
    await source.close?.();
    await computer.close();
  });

  return { app, computer, source, stats };
}

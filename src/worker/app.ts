// Worker HTTP app factory: /computetimeout (original), /v1/compute (JSON), /healthz. No listen here.
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InvalidBodyError, MissingParameterError } from '../core/errors.ts';
import { installErrorHandlers } from '../core/http-errors.ts';
import { createSource } from '../sources/registry.ts';
import type { LatencySource } from '../sources/types.ts';
import { Computer } from './compute.ts';
import type { WorkerConfig } from './config.ts';

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

  async function run(req: Parameters<Computer['compute']>[0]) {
    stats.inFlight++;
    try {
      const result = await computer.compute(req);
      stats.done++;
      return result;
    } catch (err) {
      stats.failed++;
      throw err;
    } finally {
      stats.inFlight--;
    }
  }

  // The original's route: text body, milliseconds.
  app.get('/computetimeout', async (req, reply) => {
    const url = (req.query as Record<string, unknown>).url;
    if (typeof url !== 'string') throw new MissingParameterError('url');
    const result = await run({ endpoint: url });
    return reply.type('text/plain; charset=utf-8').send(String(result.timeoutMs));
  });

  app.post('/v1/compute', async (req) => {
    const parsed = computeBodySchema.safeParse(req.body);
    if (!parsed.success) {
      throw new InvalidBodyError(
        'body must be {"endpoint": string, "alpha"?: number, "strategy"?: string, "previous"?: {"servedMs", "computedAtMs", "state"?}}',
        parsed.error.issues,
      );
    }
    return run(parsed.data);
  });

  app.get('/healthz', () => ({ status: 'ok', inFlight: stats.inFlight }));

  app.get('/readyz', async (_req, reply) => {
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

  app.addHook('onClose', async () => {
    await source.close?.();
  });

  return { app, computer, source, stats };
}

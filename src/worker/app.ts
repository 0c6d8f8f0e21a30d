// Worker HTTP app factory: /computetimeout (original), /v1/compute and /v1/compute/batch (JSON), /healthz. No listen here.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { InvalidBodyError, JitError, MissingParameterError } from '../core/errors.ts';
import { errorAnswer, installErrorHandlers } from '../core/http-errors.ts';
import { createSource } from '../sources/registry.ts';
import {
  batchRequestSchema,
  computeJobSchema,
  type BatchFailure,
  type BatchReply,
  type ComputeJob,
  type WorkerHealth,
  type WorkerReady,
} from '../protocol/worker-api.ts';
import type { LatencySource } from '../sources/types.ts';
import { Computer } from './compute.ts';
import type { WorkerConfig } from './config.ts';
import { installWorkerMetrics } from './metrics.ts';
import { installWorkerOpenApi } from './openapi.ts';

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
  // No per-request log lines: two lines per job were ~7 % of a worker's CPU in a cycle
  // (BENCHMARKS.md, "Cycle"). Each job logs one line itself (debug when done, info when refused);
  // server errors are logged by the error handler.
  const app = Fastify({
    logger: deps.logger ?? true,
    // A batch carries up to maxBatch jobs, each with at most 4 KiB of strategy state.
    bodyLimit: Math.max(64, 8 * config.maxBatch) * 1024,
    logController: new LogController({ disableRequestLogging: true }),
  });
  installErrorHandlers(app);
  installWorkerOpenApi(app);
  // Routes are declared in a plugin, so that the OpenAPI generator (loaded first) sees them.
  void app.register((routes) => {
    const metrics = installWorkerMetrics(routes, { source: source.name, stats });

    async function run(job: ComputeJob, log: FastifyBaseLogger) {
      stats.inFlight++;
      const jobDone = metrics.jobStarted(job.strategy ?? config.strategy);
      try {
        const result = await computer.compute(job);
        stats.done++;
        jobDone();
        log.debug(
          { endpoint: job.endpoint, timeoutMs: result.timeoutMs, computeMs: result.computeMs },
          'job done',
        );
        return result;
      } catch (err) {
        stats.failed++;
        jobDone(err);
        // Server errors (5xx) are logged by the error handler; a refused job is logged here.
        if (err instanceof JitError && err.statusCode < 500) {
          log.info({ endpoint: job.endpoint, code: err.code }, err.message);
        }
        throw err;
      } finally {
        stats.inFlight--;
      }
    }

    // The original's route: text body, milliseconds.
    routes.get('/computetimeout', async (req, reply) => {
      const url = (req.query as Record<string, unknown>).url;
      if (typeof url !== 'string') throw new MissingParameterError('url');
      const result = await run({ endpoint: url }, req.log);
      return reply.type('text/plain; charset=utf-8').send(String(result.timeoutMs));
    });

    routes.post('/v1/compute', async (req) => {
      const parsed = computeJobSchema.safeParse(req.body);
      if (!parsed.success) {
        throw new InvalidBodyError(
          'body must be {"endpoint": string, "alpha"?: number, "strategy"?: string, "previous"?: {"servedMs", "computedAtMs", "state"?}}',
          parsed.error.issues,
        );
      }
      return run(parsed.data, req.log);
    });

    const batchBodySchema = batchRequestSchema(config.maxBatch);

    /** A failed job's item in a batch answer: the status and body its own call would get. */
    function failureItem(err: unknown, job: ComputeJob, log: FastifyBaseLogger): BatchFailure {
      const { status, body } = errorAnswer(err, log, { endpoint: job.endpoint });
      return { status, ...body };
    }

    // Several jobs in one call, one after another: saves the broker a round trip per job.
    routes.post('/v1/compute/batch', async (req): Promise<BatchReply> => {
      const parsed = batchBodySchema.safeParse(req.body);
      if (!parsed.success) {
        throw new InvalidBodyError(
          `body must be {"jobs": [job, …]} with 1 to ${config.maxBatch} jobs, each as POST /v1/compute takes`,
          parsed.error.issues,
        );
      }
      const results: BatchReply['results'] = [];
      for (const job of parsed.data.jobs) {
        try {
          results.push(await run(job, req.log));
        } catch (err) {
          results.push(failureItem(err, job, req.log));
        }
      }
      return { results };
    });

    routes.get('/healthz', (): WorkerHealth => ({ status: 'ok', inFlight: stats.inFlight }));

    routes.get('/readyz', async (_req, reply) => {
      try {
        await source.check();
        return { status: 'ready', source: source.name } satisfies WorkerReady;
      } catch (err) {
        return reply.code(503).send({
          status: 'not-ready',
          source: source.name,
          error: err instanceof Error ? err.message : String(err),
        } satisfies WorkerReady);
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

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
import { sourceOptionsOf, type WorkerConfig } from './config.ts';
import { installWorkerMetrics } from './metrics.ts';
import { installWorkerOpenApi } from './openapi.ts';
import { SourceReadiness } from './readiness.ts';

export interface WorkerDeps {
  /** Overrides the configured source (tests, embedding). */
  source?: LatencySource;
  /** pino logger options or false; default logs at info. */
  logger?: boolean | Record<string, unknown>;
  /** Pause between source checks while not ready. Default 2000 (ms). */
  readinessRetryMs?: number;
}

export interface WorkerApp {
  app: FastifyInstance;
  computer: Computer;
  source: LatencySource;
  /** Whether the source can answer; `startWorker` starts its checks and registers once ready. */
  readiness: SourceReadiness;
  /** Jobs completed and failed since start. */
  stats: { done: number; failed: number; inFlight: number };
}

/** A job that failed because the source could not answer: one log line, no stack trace. */
const isSourceError = (err: unknown): err is JitError =>
  err instanceof JitError && err.code.startsWith('SOURCE_');

export function buildWorker(config: Readonly<WorkerConfig>, deps: WorkerDeps = {}): WorkerApp {
  const source = deps.source ?? createSource(config.source, sourceOptionsOf(config));
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
  const readiness = new SourceReadiness({
    source,
    log: app.log,
    retryMs: deps.readinessRetryMs,
  });
  // Routes are declared in a plugin, so that the OpenAPI generator (loaded first) sees them.
  void app.register((routes) => {
    // A source failure was logged by run(): answer it without the error handler's stack trace.
    routes.setErrorHandler((error, req, reply) => {
      if (isSourceError(error)) return reply.code(error.statusCode).send(error.toJSON());
      const { status, body } = errorAnswer(error, req.log, { method: req.method, url: req.url });
      return reply.code(status).send(body);
    });
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
        // Server errors (5xx) are logged by the error handler; a refused job is logged here, and
        // so is a source failure: one line, no stack (it says where, the stack says nothing).
        if (isSourceError(err)) {
          // Debug only: readiness says it once ("source not ready: …"), not once per job.
          log.debug({ endpoint: job.endpoint, code: err.code }, err.message);
          void readiness.check(); // a source that broke makes the worker not ready
        } else if (err instanceof JitError && err.statusCode < 500) {
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
      if (isSourceError(err)) return { status: err.statusCode, ...err.toJSON() }; // logged by run()
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

    // Checks now (a probe wants the current answer); a change is logged once by `readiness`.
    routes.get('/readyz', async (_req, reply) => {
      const { ready, reason } = await readiness.check();
      if (ready) return { status: 'ready', source: source.name } satisfies WorkerReady;
      return reply
        .code(503)
        .send({ status: 'not-ready', source: source.name, error: reason } satisfies WorkerReady);
    });
    return Promise.resolve();
  });

  app.addHook('onClose', async () => {
    readiness.stop();
    await source.close?.();
    await computer.close();
  });

  return { app, computer, source, readiness, stats };
}

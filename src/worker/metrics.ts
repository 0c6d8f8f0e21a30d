// The worker's Prometheus metrics: jobs by strategy and result, job durations, source errors.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { JitError } from '../core/errors.ts';
import { installAppMetrics, LATENCY_BUCKETS_S } from '../core/metrics.ts';
import { SOURCE_ERROR_CODES } from '../protocol/failure.ts';
import { strategyNames } from '../strategies/registry.ts';

export interface WorkerMetrics {
  registry: Registry;
  /** Call when a job starts; call the answer with the job's error (or nothing) when it ends. */
  jobStarted(strategy: string): (err?: unknown) => void;
}

export function installWorkerMetrics(
  app: FastifyInstance,
  deps: { source: string; stats: { inFlight: number } },
): WorkerMetrics {
  const { registry } = installAppMetrics(app);
  const jobs = new Counter({
    name: 'jit_worker_jobs_total',
    help: 'Timeout computations, by strategy and result (ok|failed).',
    labelNames: ['strategy', 'result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'jit_worker_job_duration_seconds',
    help: 'Time to compute one timeout (read the window, run the strategy), by strategy.',
    labelNames: ['strategy'] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [registry],
  });
  const sourceErrors = new Counter({
    name: 'jit_worker_source_errors_total',
    help: 'Latency source failures while reading a window, by source and error code.',
    labelNames: ['source', 'code'] as const,
    registers: [registry],
  });
  for (const code of SOURCE_ERROR_CODES) sourceErrors.inc({ source: deps.source, code }, 0);
  new Gauge({
    name: 'jit_worker_jobs_in_flight',
    help: 'Jobs this worker is computing now.',
    registers: [registry],
    collect() {
      this.set(deps.stats.inFlight);
    },
  });

  return {
    registry,
    jobStarted(name) {
      // Jobs name their strategy: an unknown name (the job then fails) must not add a series.
      const strategy = strategyNames().includes(name) ? name : 'unknown';
      const end = duration.startTimer({ strategy });
      return (err?: unknown) => {
        end();
        jobs.inc({ strategy, result: err === undefined ? 'ok' : 'failed' });
        if (err instanceof JitError && SOURCE_ERROR_CODES.has(err.code)) {
          sourceErrors.inc({ source: deps.source, code: err.code });
        }
      };
    },
  };
}

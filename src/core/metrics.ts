// Prometheus plumbing shared by broker and worker: a registry per app, HTTP latency, GET /metrics.
import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { HttpDurationHistogram } from './http-duration.ts';

/** Buckets for HTTP handling and job times (s): 1 ms … 60 s. */
export const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export interface AppMetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
  /** Options of the `GET /metrics` route, e.g. `{ config: { auth: 'read' } }`. */
  route?: RouteShorthandOptions;
}

let processMetrics: Registry | undefined;

/**
 * The process's own metrics (CPU, memory, event loop lag, GC), collected once per process: each
 * collector starts an observer that is never stopped, and a process running a broker and two
 * workers (`jit demo`, tests) has one CPU and one heap all the same.
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/**
 * A fresh registry for one app instance (never prom-client's global one: tests run several
 * brokers and workers in one process), with `GET /metrics` and a histogram of the app's own
 * HTTP request times by route template (never by raw URL, so random paths add no series).
 */
export function installAppMetrics(
  app: FastifyInstance,
  opts: AppMetricsOptions = {},
): { registry: Registry; http: HttpDurationHistogram } {
  const registry = new Registry();
  const scraped = (opts.processMetrics ?? true) ? [registry, processRegistry()] : [registry];

  const http = new HttpDurationHistogram(
    'jit_http_request_duration_seconds',
    'Time to answer HTTP requests, by method, route template and status code.',
    LATENCY_BUCKETS_S,
  );
  registry.registerMetric(http.asMetric());
  // Routes declared from here on are recorded; paths that match no route are not (no series
  // per random URL, and no hook on the 404 path).
  http.install(app);

  app.get('/metrics', opts.route ?? {}, async (_req, reply) => {
    const text = await (scraped.length === 1 ? registry : Registry.merge(scraped)).metrics();
    return reply.type(registry.contentType).send(text);
  });
  return { registry, http };
}

// The broker's Prometheus metrics: served timeouts, cycles, computations, workers, HTTP latency.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import type { HttpDurationHistogram, HttpRecorder } from '../core/http-duration.ts';
import { installAppMetrics } from '../core/metrics.ts';
import { FAILURE_KINDS } from '../protocol/failure.ts';
import type { TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';
import type { CycleRunner, CycleSummary } from './cycle.ts';
import { servedForRecord } from './serve.ts';
import type { WorkerRegistry } from './worker-registry.ts';

/** Cycle durations (s): 10 ms … 10 min. */
const CYCLE_BUCKETS_S = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface BrokerMetricsDeps {
  store: TimeoutStore;
  registry: WorkerRegistry;
  cycles: CycleRunner;
}

/**
 * Built before the cycle runner (it observes the store the runner writes to), installed after.
 * Usage in buildBroker:
 *   const metrics = new BrokerMetrics(config);
 *   const cycles = new CycleRunner({ ..., store: metrics.observeStore(store) });
 *   metrics.install(app, { store, registry, cycles });
 */
export class BrokerMetrics {
  private readonly computations = new Counter({
    name: 'jit_computations_total',
    help: 'Computations of endpoint timeouts the broker received, by strategy and result (ok|failed).',
    labelNames: ['strategy', 'result'] as const,
    registers: [],
  });
  private readonly failures = new Counter({
    name: 'jit_computation_failures_total',
    help: 'Failed computations by kind (source, refused, worker-error, invalid-reply, implausible, timeout, unreachable, internal, no-worker).',
    labelNames: ['kind'] as const,
    registers: [],
  });
  private readonly sourceErrors = new Counter({
    name: 'jit_source_errors_total',
    help: "Failed computations caused by a worker's latency source (unreachable or query refused).",
    registers: [],
  });
  private readonly cycleDuration = new Histogram({
    name: 'jit_cycle_duration_seconds',
    help: 'Duration of broker cycles (read the list, fan out, store the values).',
    buckets: CYCLE_BUCKETS_S,
    registers: [],
  });
  private readonly cyclesTotal = new Counter({
    name: 'jit_cycles_total',
    help: 'Finished cycles, by outcome (ran|skipped: no workers or no endpoints).',
    labelNames: ['outcome'] as const,
    registers: [],
  });
  private readonly lastCycleAt = new Gauge({
    name: 'jit_last_cycle_timestamp_seconds',
    help: 'When the last cycle finished (Unix time); alert when it stops moving.',
    registers: [],
  });
  private readonly otlpExports = new Counter({
    name: 'jit_otlp_exports_total',
    help: 'OTLP export requests the receiver answered, by HTTP status (200, 400, 401, 413, 415, 503…).',
    labelNames: ['status'] as const,
    registers: [],
  });
  private readonly otlpSpans = new Counter({
    name: 'jit_otlp_spans_total',
    help: 'Spans of accepted OTLP exports: kept in a window, rejected (partialSuccess), or ignored (the naming rules name no endpoint).',
    labelNames: ['result'] as const,
    registers: [],
  });
  private lastObservedCycle = 0;
  /** Available after install(). */
  registry: Registry | undefined;
  private http: HttpDurationHistogram | undefined;

  constructor(private readonly config: Readonly<BrokerConfig>) {}

  /**
   * The store as the cycle runner should see it: every call goes to `store`, and each recorded
   * success or failure is counted. (Methods are bound to the real store, so classes with private
   * fields work through the proxy.)
   */
  observeStore(store: TimeoutStore): TimeoutStore {
    const recordSuccess: TimeoutStore['recordSuccess'] = (name, storedMs, info, at) => {
      store.recordSuccess(name, storedMs, info, at);
      this.computations.inc({ strategy: info.strategy, result: 'ok' });
    };
    const recordFailure: TimeoutStore['recordFailure'] = (name, error, at, kind) => {
      const rec = store.get(name);
      // The strategy the job asked for; the worker's own default is known only after a success.
      const strategy =
        rec?.options.strategy ?? this.config.strategy ?? rec?.last?.strategy ?? 'unknown';
      store.recordFailure(name, error, at, kind);
      this.computations.inc({ strategy, result: 'failed' });
      // The kind is set where the failure was found (worker-client reads the worker's error code).
      this.failures.inc({ kind: kind ?? 'unknown' });
      if (kind === 'source') this.sourceErrors.inc();
    };
    return new Proxy(store, {
      get(target, prop) {
        if (prop === 'recordSuccess') return recordSuccess;
        if (prop === 'recordFailure') return recordFailure;
        // Getters and methods run on the real store (the proxy cannot reach private fields).
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }

  /** Counts one answer of the OTLP receiver, and the spans of an accepted export. */
  otlpAnswered(
    status: number,
    spans?: { accepted: number; rejected: number; ignored: number },
  ): void {
    this.otlpExports.inc({ status: String(status) });
    if (spans) {
      this.otlpSpans.inc({ result: 'accepted' }, spans.accepted);
      this.otlpSpans.inc({ result: 'rejected' }, spans.rejected);
      this.otlpSpans.inc({ result: 'ignored' }, spans.ignored);
    }
  }

  /** The series of one route in `jit_http_request_duration_seconds` (after install()). */
  httpRecorder(method: string, route: string): HttpRecorder {
    if (!this.http) throw new Error('BrokerMetrics.install() has not run');
    return this.http.recorder(method, route);
  }

  /** Registers `GET /metrics` and the HTTP latency hook on `app`; observes every cycle. */
  install(app: FastifyInstance, deps: BrokerMetricsDeps): Registry {
    const { store, registry: workers, cycles } = deps;
    const config = this.config;
    // The metrics name every endpoint and its timeout: the same token as the other reads.
    const { registry: reg, http } = installAppMetrics(app, { route: { config: { auth: 'read' } } });
    this.registry = reg;
    this.http = http;
    const own: Metric[] = [
      this.computations,
      this.failures,
      this.sourceErrors,
      this.cycleDuration,
      this.cyclesTotal,
      this.lastCycleAt,
      this.otlpExports,
      this.otlpSpans,
    ];
    for (const m of own) reg.registerMetric(m);
    // Counters start at 0 for every label value we know of, so rate() works from the first scrape.
    this.cyclesTotal.inc({ outcome: 'ran' }, 0);
    this.cyclesTotal.inc({ outcome: 'skipped' }, 0);
    for (const kind of FAILURE_KINDS) this.failures.inc({ kind }, 0);
    for (const result of ['accepted', 'rejected', 'ignored']) this.otlpSpans.inc({ result }, 0);

    new Gauge({
      name: 'jit_served_timeout_seconds',
      help: 'The timeout the broker serves for each endpoint (after damping, margin and clamps).',
      labelNames: ['endpoint'] as const,
      registers: [reg],
      collect() {
        this.reset(); // endpoints dropped from the list disappear
        for (const rec of store.list()) {
          this.set({ endpoint: rec.name }, servedForRecord(rec, config) / 1000);
        }
      },
    });
    new Gauge({
      name: 'jit_endpoint_status',
      help: 'Status of each endpoint: 1 for its current status (fresh|stale|never), else 0.',
      labelNames: ['endpoint', 'status'] as const,
      registers: [reg],
      collect() {
        this.reset();
        for (const rec of store.list()) {
          for (const status of ['fresh', 'stale', 'never'] as const) {
            this.set({ endpoint: rec.name, status }, rec.status === status ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'jit_endpoint_last_computed_timestamp_seconds',
      help: 'When each endpoint was last computed successfully (Unix time).',
      labelNames: ['endpoint'] as const,
      registers: [reg],
      collect() {
        this.reset();
        for (const rec of store.list()) {
          if (rec.computedAt) this.set({ endpoint: rec.name }, Date.parse(rec.computedAt) / 1000);
        }
      },
    });
    new Gauge({
      name: 'jit_workers_registered',
      help: 'Workers in the registry (leases not expired).',
      registers: [reg],
      collect() {
        this.set(workers.list().length);
      },
    });
    new Gauge({
      name: 'jit_worker_jobs_in_flight',
      help: 'Jobs the broker is waiting on, over all workers.',
      registers: [reg],
      collect() {
        this.set(workers.list().reduce((n, w) => n + w.inFlight, 0));
      },
    });

    // The runner has no event for a finished cycle; its public runCycle() is what its loop, the
    // first-worker kick and tests call, so observing its result sees every cycle (once: a call
    // that joins the cycle in flight answers the same summary).
    const runCycle = cycles.runCycle.bind(cycles);
    cycles.runCycle = () =>
      runCycle().then((summary) => {
        this.observeCycle(summary);
        return summary;
      });
    return reg;
  }

  private observeCycle(summary: CycleSummary): void {
    if (summary.cycle <= this.lastObservedCycle) return;
    this.lastObservedCycle = summary.cycle;
    this.cycleDuration.observe(summary.durationMs / 1000);
    this.cyclesTotal.inc({ outcome: summary.skipped ? 'skipped' : 'ran' });
    this.lastCycleAt.set(Date.now() / 1000);
  }
}

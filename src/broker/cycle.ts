// The broker's cycle: re-read the endpoint list, fan jobs out, damp and store the values, repeat.
import type { FastifyBaseLogger } from 'fastify';
import { dampingBase, dampSpike, servedTimeout, servingReason } from '../core/serving.ts';
import type { TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';
import { dispatch } from './dispatch.ts';
import { readEndpointList } from './endpoints-file.ts';
import { servingFor } from './serve.ts';
import { callWorker, callWorkerBatch, type JobSpec, type WorkerReply } from './worker-client.ts';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.ts';
import type { CycleSummary as CycleSummaryMessage } from '../protocol/broker-api.ts';

/** One finished cycle (`/v1/cycles`, `/readyz`): declared in the protocol. */
export type CycleSummary = CycleSummaryMessage;

export interface CycleDeps {
  config: Readonly<BrokerConfig>;
  store: TimeoutStore;
  registry: WorkerRegistry;
  log: FastifyBaseLogger;
}

export class CycleRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CycleSummary> | undefined;
  private stopped = true;
  private count = 0;
  /** Rejected lines of the endpoint list already logged: each is said once, not every cycle. */
  private reportedLines = new Set<string>();
  /** Legacy workers whose grace period was already logged (one line per worker, not per cycle). */
  private graceLogged = new Set<string>();
  /** The last finished cycle. */
  last: CycleSummary | undefined;
  /** The most recent finished cycles, oldest first (at most RECENT_CYCLES). */
  readonly recent: CycleSummary[] = [];
  /** When the next cycle is due (epoch ms), while scheduled. */
  nextAt: number | undefined;
  /** Whether the endpoint list has been read successfully at least once. */
  listLoaded = false;

  constructor(private readonly deps: CycleDeps) {}

  /** Runs a cycle now, then one `cyclePauseMs` after each finishes, until stop(). */
  start(): void {
    this.stopped = false;
    void this.loop();
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    this.nextAt = undefined;
    try {
      await this.runCycle();
    } catch (err) {
      this.deps.log.error({ err }, 'cycle failed');
    }
    if (this.stopped) return;
    this.nextAt = Date.now() + this.deps.config.cyclePauseMs;
    this.timer = setTimeout(() => void this.loop(), this.deps.config.cyclePauseMs);
  }

  /** Runs the next cycle now instead of after the pause (e.g. when the first worker registers). */
  kick(): void {
    if (this.stopped || this.running || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.loop();
  }

  /** Stops scheduling and waits for the cycle in flight, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.nextAt = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Runs one cycle (at most one at a time: a second call joins the one in flight). */
  runCycle(): Promise<CycleSummary> {
    this.running ??= this.doCycle().finally(() => (this.running = undefined));
    return this.running;
  }

  private async doCycle(): Promise<CycleSummary> {
    const { config, store, registry, log } = this.deps;
    const started = Date.now();
    const cycle = ++this.count;
    try {
      const list = await readEndpointList(config.endpointsFile);
      const rejected = new Set<string>();
      for (const r of list.rejected) {
        const key = `${r.line}\u0000${r.text}\u0000${r.reason}`;
        rejected.add(key);
        if (this.reportedLines.has(key)) continue;
        log.warn(
          { file: config.endpointsFile, line: r.line, text: r.text },
          `ignored line of the endpoint list: ${r.reason}`,
        );
      }
      // A line fixed and broken again is said again.
      this.reportedLines = rejected;
      let entries = list.entries;
      if (entries.length > config.maxEndpoints) {
        log.error(
          { file: config.endpointsFile, listed: entries.length, limit: config.maxEndpoints },
          `the endpoint list has more than ${config.maxEndpoints} endpoints; only the first are used`,
        );
        entries = entries.slice(0, config.maxEndpoints);
      }
      store.syncEndpoints(entries);
      this.listLoaded = true;
    } catch (err) {
      // Keep the endpoints we had: a typo in a path must not wipe the served values.
      log.error(
        { file: config.endpointsFile, err: (err as Error).message },
        'cannot read the endpoint list; keeping the previous one',
      );
    }
    const endpoints = store.list().map((r) => r.name);
    const workers = registry.list();
    const summary: CycleSummary = {
      cycle,
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
      endpoints: endpoints.length,
      done: 0,
      failed: 0,
      workersUsed: 0,
    };
    if (workers.length === 0 || endpoints.length === 0) {
      summary.skipped = workers.length === 0 ? 'No workers registered' : 'No endpoints';
      summary.durationMs = Date.now() - started;
      log.info({ ...summary }, `cycle ${cycle}: ${summary.skipped}`);
      this.finish(summary);
      return summary;
    }
    const used = new Set<string>();
    await dispatch(endpoints, workers, {
      maxAttempts: config.maxAttempts,
      call: (worker, endpoint) => {
        used.add(worker.id);
        return callWorker(worker, jobFor(store, config, endpoint), callTimeoutFor(worker, config));
      },
      callBatch: (worker, batch) => {
        used.add(worker.id);
        return callWorkerBatch(
          worker,
          batch.map((endpoint) => jobFor(store, config, endpoint)),
          callTimeoutFor(worker, config, batch.length),
        );
      },
      batchSize: (worker) =>
        worker.protocol === 'v1' ? Math.min(config.batchSize, worker.maxBatch) : 1,
      onUnreachable: (worker, error, endpoint, kind) => {
        // The original worker calls GET /register before its server listens: a refused
        // connection right after it is expected, so it stays (this cycle goes on without it).
        if (kind === 'unreachable' && registry.inGrace(worker)) {
          if (!this.graceLogged.has(worker.id)) {
            this.graceLogged.add(worker.id);
            log.info(
              {
                workerId: worker.id,
                workerUrl: worker.url,
                err: error,
                graceMs: config.legacyGraceMs,
              },
              'legacy worker not listening yet; kept during its grace period after GET /register',
            );
          }
          return;
        }
        this.graceLogged.delete(worker.id);
        registry.evict(worker.id, `${error} (while computing "${endpoint}")`);
      },
      onAttemptFailed: (worker, endpoint, error, retry) =>
        log.warn(
          { endpoint, workerId: worker.id, workerUrl: worker.url, err: error, retry },
          retry ? 'worker call failed; retrying on another worker' : 'worker call failed',
        ),
      onResult: (r) => {
        if (r.ok && r.outcome.reply.timeoutMs > config.maxAcceptedMs) {
          // A worker that answers something implausible (a bug, or a rogue) changes nothing.
          const error = `worker ${r.workerId} answered ${r.outcome.reply.timeoutMs} ms, above the accepted ${config.maxAcceptedMs} ms`;
          store.recordFailure(r.endpoint, error, r.at, 'implausible');
          log.warn(
            { endpoint: r.endpoint, workerId: r.workerId, err: error },
            'worker reply rejected; keeping the previous value',
          );
          summary.failed++;
        } else if (r.ok) {
          this.graceLogged.delete(r.workerId); // it listens now: a later restart is said again
          if (recordComputation(store, config, r.endpoint, r.outcome.reply, r.workerId, r.at)) {
            summary.done++;
          }
        } else {
          store.recordFailure(r.endpoint, r.error, r.at, r.kind);
          log.warn(
            { endpoint: r.endpoint, workerIds: r.workerIds, kind: r.kind, err: r.error },
            'computation failed; keeping the previous value',
          );
          summary.failed++;
        }
      },
    });
    summary.workersUsed = used.size;
    summary.durationMs = Date.now() - started;
    log.info(
      { ...summary },
      `cycle ${cycle}: ${summary.done} done, ${summary.failed} failed of ${summary.endpoints} endpoints, ` +
        `${summary.workersUsed} workers used, ${summary.durationMs} ms`,
    );
    this.finish(summary);
    return summary;
  }

  private finish(summary: CycleSummary): void {
    this.last = summary;
    this.recent.push(summary);
    if (this.recent.length > RECENT_CYCLES) this.recent.shift();
  }
}

/**
 * Stores a worker's accepted value for `endpoint`: damped against the previous value unless that
 * one was a placeholder (`nextStoredMs`, the rule the backtest replays too), then served with the
 * endpoint's margin and clamps. Answers false when the endpoint left the list while its job ran.
 */
export function recordComputation(
  store: TimeoutStore,
  config: Readonly<BrokerConfig>,
  endpoint: string,
  reply: WorkerReply,
  workerId: string,
  at: Date,
): boolean {
  const rec = store.get(endpoint);
  if (!rec) return false;
  // nextStoredMs, spelled out: the words need the value damping was judged against.
  const base = dampingBase({ storedMs: rec.storedMs, placeholder: rec.last?.placeholder });
  const stored = dampSpike(reply.timeoutMs, base, config);
  const serving = servingFor(rec, config);
  const servedMs = servedTimeout(stored, serving);
  const { timeoutMs, placeholder, reason: strategyReason, ...details } = reply;
  const reason = servingReason(
    { strategyReason, computedMs: timeoutMs, dampedAgainstMs: base, storedMs: stored, servedMs },
    serving,
    {
      minFromEndpoint: rec.options.minMs !== undefined,
      maxFromEndpoint: rec.options.maxMs !== undefined,
    },
  );
  store.recordSuccess(
    endpoint,
    stored,
    {
      ...details,
      state: details.state,
      computedMs: timeoutMs,
      workerId,
      servedMs,
      reason,
      // Only a placeholder is marked, so the records of real values stay as they were.
      ...(placeholder === true ? { placeholder: true } : {}),
    },
    at,
  );
  return true;
}

/** How many finished cycles `recent` keeps (for the dashboard and /v1/cycles). */
export const RECENT_CYCLES = 50;

/** The job for one endpoint: its α and strategy, and what it needs of its previous computation. */
export function jobFor(
  store: TimeoutStore,
  config: Readonly<BrokerConfig>,
  endpoint: string,
): JobSpec {
  const rec = store.get(endpoint);
  const last = rec?.last;
  return {
    endpoint,
    alpha: rec?.options.alpha ?? config.alpha,
    strategy: rec?.options.strategy ?? config.strategy,
    previous:
      last && rec.computedAt
        ? { servedMs: last.servedMs, computedAtMs: Date.parse(rec.computedAt), state: last.state }
        : undefined,
  };
}

/** Slack on top of a worker's announced job budget: queueing, the data fetch, the reply. */
const JOB_BUDGET_SLACK_MS = 5000;

/**
 * The time allowed for a call of `jobs` jobs: the configured one, or longer when the worker's
 * announced job budget needs it (each job of a batch may take its budget). A batch of fast jobs
 * gets the same allowance as one job, so a hung worker is found as soon as before. A worker of
 * the original (GET /register) announces nothing and trains for tens of seconds per call: it
 * gets `legacyCallTimeoutMs`.
 */
export function callTimeoutFor(
  worker: WorkerRecord,
  config: Readonly<BrokerConfig>,
  jobs = 1,
): number {
  if (worker.protocol === 'legacy') return config.legacyCallTimeoutMs;
  return worker.maxJobMs === undefined
    ? config.callTimeoutMs
    : Math.max(config.callTimeoutMs, worker.maxJobMs * jobs + JOB_BUDGET_SLACK_MS);
}

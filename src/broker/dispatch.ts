// Fan-out of one cycle's jobs over the workers: bounded in-flight per worker, one retry elsewhere.
import { evicts, type FailureKind } from '../protocol/failure.ts';
import type { CallOutcome } from './worker-client.ts';
import type { WorkerRecord } from './worker-registry.ts';

export type JobResult =
  | {
      endpoint: string;
      ok: true;
      workerId: string;
      outcome: Extract<CallOutcome, { ok: true }>;
      /** When the answer came back. */
      at: Date;
    }
  | {
      endpoint: string;
      ok: false;
      /** Why the last attempt failed, as data (metrics count by it). */
      kind: FailureKind;
      error: string;
      at: Date;
      /** The workers that tried, in order (the last one gave `error`); empty if none could. */
      workerIds: string[];
    };

export interface DispatchOptions {
  /** Attempts per endpoint, each on a different worker. */
  maxAttempts: number;
  call: (worker: WorkerRecord, endpoint: string) => Promise<CallOutcome>;
  /**
   * Several jobs in one call, answering one outcome per endpoint in the same order; used for
   * workers whose `batchSize` is above 1. A call that fails as a whole answers the same failure
   * for each endpoint.
   */
  callBatch?: (worker: WorkerRecord, endpoints: string[]) => Promise<CallOutcome[]>;
  /** Jobs per call at most for a worker. Default 1 (one job per call). */
  batchSize?: (worker: WorkerRecord) => number;
  /** Called when a worker failed to answer (`kind` says how); the dispatcher stops using it at once. */
  onUnreachable: (worker: WorkerRecord, error: string, endpoint: string, kind: FailureKind) => void;
  /** Called for every failed attempt, before the job is retried elsewhere or given up. */
  onAttemptFailed?: (worker: WorkerRecord, endpoint: string, error: string, retry: boolean) => void;
  /** Called with each final result as soon as it is known (so values are stored without waiting). */
  onResult?: (result: JobResult) => void;
}

interface Job {
  endpoint: string;
  attempts: number;
  /** Worker ids in the order they tried (a Set keeps insertion order). */
  tried: Set<string>;
  /** The last attempt's failure, once one failed. */
  lastFailure: { kind: FailureKind; error: string } | undefined;
}

/**
 * Runs every endpoint's job on the given workers. Each worker runs `concurrency` lanes that pull
 * the next job it has not tried yet; a failed job goes back to the queue for another worker until
 * it has had `maxAttempts` attempts or no live worker is left that has not tried it.
 */
export async function dispatch(
  endpoints: readonly string[],
  workers: readonly WorkerRecord[],
  opts: DispatchOptions,
): Promise<JobResult[]> {
  const queue: Job[] = endpoints.map((endpoint) => ({
    endpoint,
    attempts: 0,
    tried: new Set(),
    lastFailure: undefined,
  }));
  const results: JobResult[] = [];
  const finish = (r: JobResult) => {
    results.push(r);
    opts.onResult?.(r);
  };
  const alive = new Set(workers.map((w) => w.id));
  let inFlight = 0;
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const notify = () => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };
  const canStillRun = (job: Job) => [...alive].some((id) => !job.tried.has(id));
  const laneCount = workers.reduce((n, w) => n + Math.max(1, w.concurrency), 0);

  /**
   * Takes the next jobs this worker has not tried: up to its batch size, but no more than an
   * even share of what is left, so that near the end of a cycle no lane sits on a long batch
   * while the others idle.
   */
  function take(worker: WorkerRecord): Job[] {
    const max = opts.callBatch ? Math.max(1, opts.batchSize?.(worker) ?? 1) : 1;
    const want = Math.max(1, Math.min(max, Math.floor(queue.length / laneCount)));
    const taken: Job[] = [];
    for (let i = 0; i < queue.length && taken.length < want;) {
      const job = queue[i] as Job;
      if (job.tried.has(worker.id)) i++;
      else taken.push(queue.splice(i, 1)[0] as Job);
    }
    return taken;
  }

  /** One call for `jobs` (one job, or a batch); never rejects. */
  async function run(worker: WorkerRecord, jobs: Job[]): Promise<CallOutcome[]> {
    const failed = (err: unknown): CallOutcome[] =>
      jobs.map(() => ({
        ok: false,
        kind: 'internal',
        error: err instanceof Error ? err.message : String(err),
      }));
    try {
      if (jobs.length === 1 || !opts.callBatch) {
        return [await opts.call(worker, (jobs[0] as Job).endpoint)];
      }
      const outcomes = await opts.callBatch(
        worker,
        jobs.map((j) => j.endpoint),
      );
      return outcomes.length === jobs.length
        ? outcomes
        : failed(`${outcomes.length} outcomes for ${jobs.length} jobs`);
    } catch (err) {
      return failed(err);
    }
  }

  async function lane(worker: WorkerRecord): Promise<void> {
    while (alive.has(worker.id)) {
      const jobs = take(worker);
      if (jobs.length === 0) {
        // Nothing for this worker now; wait while another lane may still hand a job back.
        if (inFlight === 0 && !queue.some(canStillRun)) return;
        if (queue.length === 0 && inFlight === 0) return;
        await changed;
        continue;
      }
      for (const job of jobs) {
        job.attempts++;
        job.tried.add(worker.id);
      }
      inFlight += jobs.length;
      worker.inFlight += jobs.length;
      const outcomes = await run(worker, jobs);
      worker.inFlight -= jobs.length;
      inFlight -= jobs.length;
      for (const [i, job] of jobs.entries()) settle(worker, job, outcomes[i] as CallOutcome);
      notify();
    }
    notify();
  }

  function settle(worker: WorkerRecord, job: Job, outcome: CallOutcome): void {
    if (outcome.ok) {
      worker.jobsDone++;
      finish({ endpoint: job.endpoint, ok: true, workerId: worker.id, outcome, at: new Date() });
    } else {
      worker.jobsFailed++;
      job.lastFailure = { kind: outcome.kind, error: outcome.error };
      if (evicts(outcome.kind) && alive.delete(worker.id)) {
        opts.onUnreachable(worker, outcome.error, job.endpoint, outcome.kind);
      }
      const retry = job.attempts < opts.maxAttempts && canStillRun(job);
      opts.onAttemptFailed?.(worker, job.endpoint, outcome.error, retry);
      if (retry) queue.push(job);
      else {
        finish({
          endpoint: job.endpoint,
          ok: false,
          kind: outcome.kind,
          error: outcome.error,
          at: new Date(),
          workerIds: [...job.tried],
        });
      }
    }
  }

  await Promise.all(
    workers.flatMap((w) => Array.from({ length: Math.max(1, w.concurrency) }, () => lane(w))),
  );
  for (const job of queue) {
    // A job that failed before and found no other worker keeps that failure; one that never ran
    // is the dispatcher's own.
    finish({
      endpoint: job.endpoint,
      ok: false,
      ...(job.lastFailure ?? { kind: 'no-worker', error: 'no worker could take the job' }),
      at: new Date(),
      workerIds: [...job.tried],
    });
  }
  return results;
}

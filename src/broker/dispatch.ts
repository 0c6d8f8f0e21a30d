// Fan-out of one cycle's jobs over the workers: bounded in-flight per worker, one retry elsewhere.
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
      error: string;
      at: Date;
      /** The workers that tried, in order (the last one gave `error`); empty if none could. */
      workerIds: string[];
    };

export interface DispatchOptions {
  /** Attempts per endpoint, each on a different worker. */
  maxAttempts: number;
  call: (worker: WorkerRecord, endpoint: string) => Promise<CallOutcome>;
  /** Called when a worker failed to answer; the dispatcher stops using it at once. */
  onUnreachable: (worker: WorkerRecord, error: string, endpoint: string) => void;
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
  lastError: string;
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
    lastError: '',
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

  async function lane(worker: WorkerRecord): Promise<void> {
    while (alive.has(worker.id)) {
      const idx = queue.findIndex((j) => !j.tried.has(worker.id));
      if (idx === -1) {
        // Nothing for this worker now; wait while another lane may still hand a job back.
        if (inFlight === 0 && !queue.some(canStillRun)) return;
        if (queue.length === 0 && inFlight === 0) return;
        await changed;
        continue;
      }
      const job = queue.splice(idx, 1)[0] as Job;
      job.attempts++;
      job.tried.add(worker.id);
      inFlight++;
      worker.inFlight++;
      let outcome: CallOutcome;
      try {
        outcome = await opts.call(worker, job.endpoint);
      } catch (err) {
        outcome = {
          ok: false,
          evict: false,
          error: err instanceof Error ? err.message : String(err),
        };
      }
      worker.inFlight--;
      inFlight--;
      if (outcome.ok) {
        worker.jobsDone++;
        finish({ endpoint: job.endpoint, ok: true, workerId: worker.id, outcome, at: new Date() });
      } else {
        worker.jobsFailed++;
        job.lastError = outcome.error;
        if (outcome.evict && alive.delete(worker.id)) {
          opts.onUnreachable(worker, outcome.error, job.endpoint);
        }
        const retry = job.attempts < opts.maxAttempts && canStillRun(job);
        opts.onAttemptFailed?.(worker, job.endpoint, outcome.error, retry);
        if (retry) queue.push(job);
        else {
          finish({
            endpoint: job.endpoint,
            ok: false,
            error: job.lastError,
            at: new Date(),
            workerIds: [...job.tried],
          });
        }
      }
      notify();
    }
    notify();
  }

  await Promise.all(
    workers.flatMap((w) => Array.from({ length: Math.max(1, w.concurrency) }, () => lane(w))),
  );
  for (const job of queue) {
    finish({
      endpoint: job.endpoint,
      ok: false,
      error: job.lastError || 'no worker could take the job',
      at: new Date(),
      workerIds: [...job.tried],
    });
  }
  return results;
}

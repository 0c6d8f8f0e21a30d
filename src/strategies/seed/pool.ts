// Process-wide pool of worker threads (piscina) that train forecasts, so no event loop ever blocks.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { ForecastTask, ForecastTaskResult } from './forecast-task.ts';

const TASK_FILE = new URL('./forecast-task.mjs', import.meta.url).href;

let pool: Piscina<ForecastTask, ForecastTaskResult> | undefined;
let users = 0;

/** Threads in the pool: one per core (tfjs' CPU backend uses one core per training). */
export function forecastPoolSize(): number {
  return Math.max(1, availableParallelism());
}

/** A tiny task (one epoch on 9 pairs): what `warmUp` runs on every thread. */
function warmUpTask(): ForecastTask {
  return {
    sequence: Float32Array.from({ length: 17 }, (_, i) => Math.sin(i)),
    input: new Float32Array(8),
    model: {
      filters: 1,
      epochs: 1,
      learningRate: 0.008,
      batchSize: 32,
      patience: 0,
      minDelta: 0,
      shuffle: false,
      seed: 1,
    },
    deadlineMs: Number.MAX_SAFE_INTEGER,
  };
}

/** A share of the process-wide pool. The last `release()` stops the threads. */
export interface ForecastPoolHandle {
  /** Runs one task on a free thread (queued when all are busy); `signal` aborts it, killing its thread. */
  run(task: ForecastTask, signal?: AbortSignal): Promise<ForecastTaskResult>;
  /** Resolves once every thread has loaded tfjs and trained a tiny model (benchmarks, tests). */
  warmUp(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes a share of the pool. The first share starts the threads at once, so that each has loaded
 * tfjs (1.5 s, more on a busy machine) before the first job's budget starts running. Idle threads
 * are unref'd: an unreleased pool does not keep a process alive.
 */
export function acquireForecastPool(): ForecastPoolHandle {
  users++;
  let released = false;
  const size = forecastPoolSize();
  const shared = (pool ??= new Piscina<ForecastTask, ForecastTaskResult>({
    filename: TASK_FILE,
    minThreads: size,
    maxThreads: size,
    concurrentTasksPerWorker: 1,
    atomics: 'disabled',
  }));
  return {
    run(task, signal) {
      if (released) return Promise.reject(new Error('forecast pool handle already released'));
      return shared.run(task, signal ? { signal } : {});
    },
    async warmUp() {
      await Promise.all(Array.from({ length: size }, () => shared.run(warmUpTask())));
    },
    async release() {
      if (released) return;
      released = true;
      users--;
      if (users === 0 && pool) {
        const p = pool;
        pool = undefined;
        await p.destroy();
      }
    },
  };
}

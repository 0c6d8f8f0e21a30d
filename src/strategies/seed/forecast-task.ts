// The work one pool thread does for a computation: train a fresh model, predict the held-out input.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { threadId } from 'node:worker_threads';
import {
  disposeForecaster,
  predictWindows,
  trainForecaster,
  type ModelOptions,
  type StopReason,
} from './model.ts';
import { trainingPairs } from './steps.ts';

export { prepareTfjs } from './model.ts';

/** Niceness of a training thread: the HTTP server and heartbeats of its process come first. */
export const TRAINING_THREAD_NICE = 10;

/**
 * Lowers the calling thread's CPU priority (Linux: `setpriority` on the thread's own id, read
 * from /proc/thread-self). Elsewhere, or when not allowed, it leaves the priority alone.
 * Answers whether it did.
 */
export function lowerThreadPriority(nice = TRAINING_THREAD_NICE): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

export interface ForecastTask {
  /** Normalised training sequence, oldest first. */
  sequence: Float32Array;
  /** The 8 normalised values the prediction is made from. */
  input: Float32Array;
  model: ModelOptions;
  /** Training stops at this time (epoch ms, `Date.now()` clock). */
  deadlineMs: number;
}

export interface ForecastTaskResult {
  /** The normalised prediction ŷ; null when no epoch completed in time or the loss diverged. */
  prediction: number | null;
  epochs: number;
  loss: number | null;
  stoppedBy: StopReason;
  /** Training pairs used. */
  pairs: number;
  /** Time spent in this thread (ms). */
  trainMs: number;
  /** The thread that ran the task (0 is the main thread). */
  threadId: number;
}

export async function forecastTask(task: ForecastTask): Promise<ForecastTaskResult> {
  const started = performance.now();
  const pairs = trainingPairs(task.sequence);
  const outcome = await trainForecaster(pairs, task.model, task.deadlineMs);
  let prediction: number | null = null;
  if (outcome.model) {
    const y = predictWindows(outcome.model, task.input)[0] as number;
    prediction = Number.isFinite(y) ? y : null;
    disposeForecaster(outcome.model);
  }
  return {
    prediction,
    epochs: outcome.epochs,
    loss: outcome.loss,
    stoppedBy: prediction === null && outcome.model ? 'diverged' : outcome.stoppedBy,
    pairs: pairs.count,
    trainMs: performance.now() - started,
    threadId,
  };
}

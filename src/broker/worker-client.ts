// Calls one worker for one endpoint (or a batch of them), over the v1 JSON API or the original's text API, with a timeout.
import { z } from 'zod';
import { ReplyTooLargeError } from '../core/errors.ts';
import { describeRequestError, httpRequest, type HttpResponse } from '../core/http-client.ts';
import type { Failure, FailureKind } from '../protocol/failure.ts';
import { kindOfAnswer } from '../protocol/failure.ts';
import {
  batchFailureSchema,
  computeReplySchema,
  errorBodySchema,
  type ComputeJob,
  type ComputeReply,
} from '../protocol/worker-api.ts';
import type { WorkerRecord } from './worker-registry.ts';

/** A worker reply as the broker accepts it (src/protocol/worker-api.ts). */
export type WorkerReply = ComputeReply;

export type CallOutcome =
  | { ok: true; reply: WorkerReply }
  /** `kind` says why (a worker that did not answer, `evicts(kind)`, leaves the registry). */
  | ({ ok: false } & Failure);

/** One endpoint's job, as `POST /v1/compute` takes it. */
export type JobSpec = ComputeJob;

/**
 * The most bytes of a worker's answer the broker buffers for one job (a batch gets this per job).
 * A real answer is well under 10 KiB (strategy state is capped at 4 KiB); the cap is there so
 * that a broken or hostile worker streaming a huge or endless body costs the broker at most this
 * much memory per call, and the job fails at once instead of at the call's time-out.
 */
export const REPLY_BYTES_PER_JOB = 1024 * 1024;

/** Options of one call; `maxReplyBytes` defaults to `REPLY_BYTES_PER_JOB` × the call's jobs. */
export interface CallOptions {
  maxReplyBytes?: number | undefined;
}

const failure = (kind: FailureKind, error: string): CallOutcome => ({ ok: false, kind, error });

/** A call that brought no usable answer: no connection, no answer in time, or one too long. */
function requestFailed(err: unknown): CallOutcome {
  if (err instanceof ReplyTooLargeError) {
    return failure('invalid-reply', `worker reply rejected: ${err.message}`);
  }
  const kind = err instanceof Error && err.name === 'TimeoutError' ? 'timeout' : 'unreachable';
  return failure(kind, describeRequestError(err));
}

/**
 * A job the worker refused or failed, with the status its call answered. The message keeps the
 * wording logs, the store and the dashboard have always shown; the kind is read from the code.
 */
function answered(status: number | string, message: string, code?: string): CallOutcome {
  const kind = typeof status === 'number' ? kindOfAnswer(status, code) : 'worker-error';
  return failure(kind, `worker answered HTTP ${status}: ${message}`);
}

/** A non-200 answer: its error body's message and code when it has our error body. */
function answeredText(status: number, text: string): CallOutcome {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: the raw text says what it says
  }
  const body = errorBodySchema.safeParse(json);
  return body.success
    ? answered(status, body.data.error.message, body.data.error.code)
    : answered(status, text.slice(0, 200));
}

function rejected(error: z.ZodError | undefined, what?: string): CallOutcome {
  const issue = error?.issues[0];
  const why = what ?? (issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid');
  return failure('invalid-reply', `worker reply rejected: ${why}`);
}

/** One reply item, parsed as the broker accepts it. */
function accept(json: unknown): CallOutcome {
  const parsed = computeReplySchema.safeParse(json);
  return parsed.success ? { ok: true, reply: parsed.data } : rejected(parsed.error);
}

const batchEnvelopeSchema = z.object({ results: z.array(z.unknown()) });

/**
 * Several jobs in one call (`POST /v1/compute/batch`, for workers that announced a batch size):
 * one outcome per job, in order. `timeoutMs` is for the whole call. A call that fails as a whole
 * (no answer, not HTTP 200, not the expected JSON) gives every job the same failure.
 */
export async function callWorkerBatch(
  worker: WorkerRecord,
  jobs: readonly JobSpec[],
  timeoutMs: number,
  opts: CallOptions = {},
): Promise<CallOutcome[]> {
  const all = (outcome: CallOutcome) => jobs.map(() => outcome);
  let res: HttpResponse;
  try {
    res = await httpRequest(`${worker.url}/v1/compute/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jobs }),
      timeoutMs,
      maxBodyBytes: opts.maxReplyBytes ?? REPLY_BYTES_PER_JOB * Math.max(1, jobs.length),
    });
  } catch (err) {
    return all(requestFailed(err));
  }
  if (res.status !== 200) return all(answeredText(res.status, res.text));
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch {
    return all(failure('invalid-reply', 'worker reply is not JSON'));
  }
  const envelope = batchEnvelopeSchema.safeParse(json);
  if (!envelope.success || envelope.data.results.length !== jobs.length) {
    return all(rejected(undefined, `expected "results" with ${jobs.length} items`));
  }
  return envelope.data.results.map((item) => {
    // An item with an `error` is the job's failure (`{status, error}`); anything else a result.
    if (typeof item === 'object' && item !== null && 'error' in item) {
      const failed = batchFailureSchema.safeParse(item);
      if (!failed.success) return rejected(failed.error);
      const { status, error } = failed.data;
      return answered(status, error.message.slice(0, 200), error.code);
    }
    return accept(item);
  });
}

export async function callWorker(
  worker: WorkerRecord,
  job: JobSpec,
  timeoutMs: number,
  opts: CallOptions = {},
): Promise<CallOutcome> {
  const maxBodyBytes = opts.maxReplyBytes ?? REPLY_BYTES_PER_JOB;
  let res: HttpResponse;
  try {
    res =
      worker.protocol === 'legacy'
        ? await httpRequest(
            `${worker.url}/computetimeout?url=${encodeURIComponent(job.endpoint)}`,
            { timeoutMs, maxBodyBytes },
          )
        : await httpRequest(`${worker.url}/v1/compute`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(job),
            timeoutMs,
            maxBodyBytes,
          });
  } catch (err) {
    return requestFailed(err);
  }
  const text = res.text;
  if (res.status !== 200) return answeredText(res.status, text);
  if (worker.protocol === 'legacy') {
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
      return failure(
        'invalid-reply',
        `worker reply is not a positive number: ${JSON.stringify(text.slice(0, 60))}`,
      );
    }
    return {
      ok: true,
      reply: computeReplySchema.parse({ timeoutMs: value, strategy: 'legacy', method: 'legacy' }),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return failure('invalid-reply', 'worker reply is not JSON');
  }
  return accept(json);
}

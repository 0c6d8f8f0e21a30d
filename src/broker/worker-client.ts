// Calls one worker for one endpoint (or a batch of them), over the v1 JSON API or the original's text API, with a timeout.
import { z } from 'zod';
import { describeRequestError, httpRequest, type HttpResponse } from '../core/http-client.ts';
import type { WorkerRecord } from './worker-registry.ts';

/** A worker reply as the broker accepts it; anything else is rejected and the old value kept. */
const replySchema = z.object({
  timeoutMs: z.number().finite().positive(),
  strategy: z.string().max(64).default('unknown'),
  method: z.string().max(64).default('unknown'),
  samples: z.number().int().min(0).default(0),
  meanMs: z.number().finite().default(0),
  sdMs: z.number().finite().default(0),
  percentilesMs: z.record(z.string(), z.number().finite()).default({}),
  computeMs: z.number().finite().min(0).default(0),
  censored: z.number().int().min(0).default(0),
  state: z
    .record(z.string(), z.unknown())
    .refine((v) => JSON.stringify(v).length <= 4096, 'state larger than 4 KiB')
    .optional(),
  /** The value is a no-data placeholder (the next one is not damped against it). */
  placeholder: z.boolean().optional(),
});

export type WorkerReply = z.infer<typeof replySchema>;

export type CallOutcome =
  | { ok: true; reply: WorkerReply }
  /** `evict`: the worker did not answer (connection error, time-out), so it leaves the registry. */
  | { ok: false; evict: boolean; error: string };

export interface JobSpec {
  endpoint: string;
  alpha: number;
  strategy: string | undefined;
  /** The endpoint's previous computation, for calibrating and censoring-aware strategies. */
  previous:
    | { servedMs: number; computedAtMs: number; state: Record<string, unknown> | undefined }
    | undefined;
}

/** The v1 body of one job. */
function jobBody(job: JobSpec) {
  return {
    endpoint: job.endpoint,
    alpha: job.alpha,
    ...(job.strategy ? { strategy: job.strategy } : {}),
    ...(job.previous ? { previous: job.previous } : {}),
  };
}

/**
 * A job the worker refused or failed, with the status its call answered. The wording is what
 * `SOURCE_ERROR_PATTERN` (metrics.ts) recognises a source failure by.
 */
function answered(status: number | string, message: string): CallOutcome {
  return { ok: false, evict: false, error: `worker answered HTTP ${status}: ${message}` };
}

/** One reply item, parsed as the broker accepts it. */
function accept(json: unknown): CallOutcome {
  const parsed = replySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      evict: false,
      error: `worker reply rejected: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    };
  }
  return { ok: true, reply: parsed.data };
}

/**
 * Several jobs in one call (`POST /v1/compute/batch`, for workers that announced a batch size):
 * one outcome per job, in order. `timeoutMs` is for the whole call. A call that fails as a whole
 * (no answer, not HTTP 200, not the expected JSON) gives every job the same failure.
 */
export async function callWorkerBatch(
  worker: WorkerRecord,
  jobs: readonly JobSpec[],
  timeoutMs: number,
): Promise<CallOutcome[]> {
  const all = (outcome: CallOutcome) => jobs.map(() => outcome);
  let res: HttpResponse;
  try {
    res = await httpRequest(`${worker.url}/v1/compute/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jobs: jobs.map(jobBody) }),
      timeoutMs,
    });
  } catch (err) {
    return all({ ok: false, evict: true, error: describeRequestError(err) });
  }
  if (res.status !== 200) return all(answered(res.status, errorMessage(res.text)));
  let results: unknown;
  try {
    results = (JSON.parse(res.text) as { results?: unknown }).results;
  } catch {
    return all({ ok: false, evict: false, error: 'worker reply is not JSON' });
  }
  if (!Array.isArray(results) || results.length !== jobs.length) {
    const error = `worker reply rejected: expected "results" with ${jobs.length} items`;
    return all({ ok: false, evict: false, error });
  }
  return results.map((item: unknown) => {
    const failure = (item as { error?: { message?: unknown }; status?: unknown } | null)?.error;
    if (failure) {
      const status = (item as { status?: unknown }).status;
      const message = typeof failure.message === 'string' ? failure.message.slice(0, 200) : '';
      return answered(typeof status === 'number' ? status : '?', message);
    }
    return accept(item);
  });
}

export async function callWorker(
  worker: WorkerRecord,
  job: JobSpec,
  timeoutMs: number,
): Promise<CallOutcome> {
  let res: HttpResponse;
  try {
    res =
      worker.protocol === 'legacy'
        ? await httpRequest(
            `${worker.url}/computetimeout?url=${encodeURIComponent(job.endpoint)}`,
            { timeoutMs },
          )
        : await httpRequest(`${worker.url}/v1/compute`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(jobBody(job)),
            timeoutMs,
          });
  } catch (err) {
    return { ok: false, evict: true, error: describeRequestError(err) };
  }
  const text = res.text;
  if (res.status !== 200) return answered(res.status, errorMessage(text));
  if (worker.protocol === 'legacy') {
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
      return {
        ok: false,
        evict: false,
        error: `worker reply is not a positive number: ${JSON.stringify(text.slice(0, 60))}`,
      };
    }
    return {
      ok: true,
      reply: replySchema.parse({ timeoutMs: value, strategy: 'legacy', method: 'legacy' }),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, evict: false, error: 'worker reply is not JSON' };
  }
  return accept(json);
}

function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200);
}

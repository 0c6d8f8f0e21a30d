// Why a computation failed, as data: the kinds a failure is created with and read by (metrics, logs).

/**
 * The kind of a failed attempt, set where the failure is found (worker-client, dispatch, cycle)
 * and read where it is counted (metrics), instead of reading the message back with a pattern.
 * - `unreachable`: the connection failed (refused, reset…); the worker is evicted.
 * - `timeout`: no whole answer within the call's time allowance; the worker is evicted.
 * - `source`: the worker's latency source was unreachable or refused the query (the worker
 *   answered SOURCE_UNAVAILABLE / SOURCE_QUERY_FAILED, HTTP 503 / 502).
 * - `refused`: the worker refused the job (4xx: bad job, unknown strategy, too little data).
 * - `worker-error`: the worker answered another error status (e.g. 500).
 * - `invalid-reply`: HTTP 200 but not what the protocol says (not JSON, wrong shape, too large).
 * - `implausible`: a valid reply above the broker's `--max-accepted-ms`.
 * - `internal`: the broker's own call threw (a bug).
 * - `no-worker`: no live worker was left that had not tried the job.
 */
export const FAILURE_KINDS = [
  'unreachable',
  'timeout',
  'source',
  'refused',
  'worker-error',
  'invalid-reply',
  'implausible',
  'internal',
  'no-worker',
] as const;

export type FailureKind = (typeof FAILURE_KINDS)[number];

/** A failed attempt: why (`kind`, for code) and what happened (`error`, for people and the store). */
export interface Failure {
  kind: FailureKind;
  error: string;
}

/** Whether a failure of this kind means the worker did not answer, so it leaves the registry. */
export function evicts(kind: FailureKind): boolean {
  return kind === 'unreachable' || kind === 'timeout';
}

/** Error codes a worker answers when its latency source failed (src/core/errors.ts). */
export const SOURCE_ERROR_CODES: ReadonlySet<string> = new Set([
  'SOURCE_UNAVAILABLE',
  'SOURCE_QUERY_FAILED',
]);

/**
 * The kind of a job the worker answered with an error: by its stable code when the body has one,
 * else by the status (502/503 are what the source errors answer; workers that do not send our
 * codes are read the way the broker always read them).
 */
export function kindOfAnswer(status: number, code: string | undefined): FailureKind {
  if (code !== undefined && SOURCE_ERROR_CODES.has(code)) return 'source';
  if (code === undefined && (status === 502 || status === 503)) return 'source';
  return status >= 400 && status < 500 ? 'refused' : 'worker-error';
}

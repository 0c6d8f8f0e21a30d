// The error a call made through the client SDK fails with when its endpoint's timeout expires.

/**
 * A call to `endpoint` was cut after `timeoutMs` milliseconds, the timeout JustInTimeout served
 * for it (or the fallback). It is the abort reason of the signals made by
 * {@link TimeoutClient.signalFor}, so `fetch` (and any library that rejects with
 * `signal.reason`) rejects with it, and reading a response body after the deadline does too.
 *
 * `name` is `"TimeoutError"`, as for the platform's `AbortSignal.timeout()`, so code that checks
 * `err.name === 'TimeoutError'` keeps working; `code` is `"JIT_ENDPOINT_TIMEOUT"`; `cause` is the
 * platform's `DOMException`.
 *
 * @example
 * ```ts
 * try {
 *   await client.fetch('customer', 'http://customer:8081/customer?id=1');
 * } catch (err) {
 *   if (err instanceof EndpointTimeoutError) {
 *     console.warn(`${err.endpoint} took longer than ${err.timeoutMs} ms`);
 *   } else throw err;
 * }
 * ```
 */
export class EndpointTimeoutError extends Error {
  /** Stable code for logs and metrics. */
  readonly code = 'JIT_ENDPOINT_TIMEOUT';
  /** The endpoint name the timeout was looked up for. */
  readonly endpoint: string;
  /** The timeout that expired (ms). */
  readonly timeoutMs: number;

  constructor(endpoint: string, timeoutMs: number, options?: ErrorOptions) {
    super(`call to endpoint "${endpoint}" timed out after ${timeoutMs} ms`, options);
    this.name = 'TimeoutError';
    this.endpoint = endpoint;
    this.timeoutMs = timeoutMs;
  }
}

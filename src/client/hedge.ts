// Client SDK: hedged requests (backup requests after the endpoint's p95); the first answer wins.
// No dependency beyond the platform (fetch, AbortController, timers); erasable TypeScript only.
import type { RetryBudget } from './retry-budget.ts';

/**
 * Per-call (or client-wide) hedging: `true` hedges with the defaults, an object tunes it, `false`
 * turns it off.
 */
export type HedgeSetting = boolean | HedgeOptions;

/** How a call is hedged. Every field is optional. */
export interface HedgeOptions {
  /**
   * Send a backup request once the first has been outstanding this long (ms). Default: the
   * endpoint's `hedgeMs` from the broker (the p95 of its window, as "The Tail at Scale" suggests);
   * while the broker has none for the endpoint, the call is not hedged.
   */
  delayMs?: number | undefined;
  /**
   * Backup requests at most, each `delayMs` after the previous one, each paid for by the retry
   * budget. Default 1; at most 4.
   */
  maxHedges?: number | undefined;
  /**
   * HTTP methods that may be hedged (upper case). Default `GET`, `HEAD`, `OPTIONS`, `PUT`,
   * `DELETE`: the methods RFC 9110 §9.2.2 defines as idempotent, the only ones a server may safely
   * receive twice; a hedged `POST` could, say, charge a card twice. Add a method here only for
   * endpoints that deduplicate (for instance by an idempotency key).
   */
  methods?: readonly string[] | undefined;
}

/** Counters of a client's hedging, since it was created. */
export interface HedgeMetrics {
  /** Calls made through `fetch` (each is one deposit in its endpoint's retry budget). */
  requests: number;
  /** Backup requests sent. */
  hedgesSent: number;
  /** Calls answered by a backup request rather than the original one. */
  hedgesWon: number;
  /** Backup requests (or caller retries through `tryRetry`) not sent because the budget was empty. */
  budgetDenied: number;
  /** Caller retries the budget allowed (`tryRetry` answered `true`). */
  retriesAllowed: number;
}

/** RFC 9110 §9.2.2's idempotent methods, TRACE aside (nobody hedges a TRACE). */
export const IDEMPOTENT_METHODS: readonly string[] = Object.freeze([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
]);
/** A sanity bound on backup requests per call (gRPC caps a hedging policy at 5 attempts too). */
export const MAX_HEDGES = 4;

/** A hedging setting resolved against the client's default and checked. */
export interface HedgePlan {
  delayMs: number | undefined;
  maxHedges: number;
  methods: readonly string[];
}

/** Resolves `setting` (a call's, else the client's) into a plan; undefined: no hedging. */
export function hedgePlan(setting: HedgeSetting | undefined, where: string): HedgePlan | undefined {
  if (setting === undefined || setting === false) return undefined;
  const o: HedgeOptions = setting === true ? {} : setting;
  if (o === null || typeof o !== 'object') {
    throw new TypeError(`${where}: hedge must be a boolean or an object, got ${typeof setting}`);
  }
  const { delayMs, maxHedges = 1, methods = IDEMPOTENT_METHODS } = o;
  if (
    delayMs !== undefined &&
    !(typeof delayMs === 'number' && delayMs > 0 && delayMs < Infinity)
  ) {
    throw new TypeError(`${where}: hedge.delayMs must be a finite number > 0, got ${delayMs}`);
  }
  if (!Number.isInteger(maxHedges) || maxHedges < 1 || maxHedges > MAX_HEDGES) {
    throw new TypeError(
      `${where}: hedge.maxHedges must be an integer from 1 to ${MAX_HEDGES}, got ${maxHedges}`,
    );
  }
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string')) {
    throw new TypeError(`${where}: hedge.methods must be an array of method names`);
  }
  return {
    delayMs,
    maxHedges,
    methods: (methods as readonly string[]).map((m) => m.toUpperCase()),
  };
}

/** Whether a call can be sent twice at all: a streamed body can be read only once. */
export function replayable(init: RequestInit): boolean {
  // A Request's own body is cloned for every attempt; so is nothing else (strings, buffers, forms
  // and blobs are sent afresh each time).
  return !(init.body instanceof ReadableStream);
}

/** The call's method, as fetch would send it. */
export function methodOf(input: string | URL | Request, init: RequestInit): string {
  return (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
}

export interface HedgedCall {
  fetch: typeof globalThis.fetch;
  input: string | URL | Request;
  init: RequestInit;
  /** The call's own deadline and the caller's signal, combined: it cuts every attempt. */
  signal: AbortSignal;
  delayMs: number;
  maxHedges: number;
  budget: RetryBudget;
  metrics: HedgeMetrics;
}

/** Aborts the attempts that lost; `name` AbortError as the platform's own aborts. */
function lostReason(): DOMException {
  return new DOMException('another attempt of this hedged call answered first', 'AbortError');
}

/**
 * Sends the call, and a backup after `delayMs` (then another after each further `delayMs`, up to
 * `maxHedges`) while no attempt has answered, each one only if the budget pays for it. The first
 * attempt to answer (a `Response`, whatever its status: the server has answered, and a second
 * answer to an error would only add load) wins and the others are aborted, which closes their
 * connections. An attempt that fails (network error) leaves the others running; the call fails
 * when every attempt sent has failed, with the first error (or the deadline's / caller's reason).
 */
export function hedgedFetch(call: HedgedCall): Promise<Response> {
  const { signal, budget, metrics } = call;
  // A Request's body can be read once: every attempt gets a clone of an untouched template.
  const template = call.input instanceof Request ? call.input.clone() : undefined;
  return new Promise<Response>((resolve, reject) => {
    const attempts: AbortController[] = [];
    let running = 0;
    let settled = false;
    let firstError: unknown;
    let timer: ReturnType<typeof setTimeout> | undefined;

    function finish(): void {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    function onAbort(): void {
      if (settled) return;
      finish();
      reject(signal.reason as Error);
    }

    function launch(): void {
      const index = attempts.length;
      const own = new AbortController();
      attempts.push(own);
      running++;
      const input = template ? template.clone() : call.input;
      call.fetch(input, { ...call.init, signal: AbortSignal.any([signal, own.signal]) }).then(
        (res) => {
          if (settled) {
            // Answered after another attempt won: drop it (not awaited, a cancel may hang).
            res.body?.cancel().catch(() => undefined);
            return;
          }
          finish();
          if (index > 0) metrics.hedgesWon++;
          attempts.forEach((a, i) => {
            if (i !== index) a.abort(lostReason());
          });
          resolve(res);
        },
        (err: unknown) => {
          running--;
          if (settled) return;
          firstError ??= err;
          if (running === 0) {
            finish();
            reject((signal.aborted ? signal.reason : firstError) as Error);
          }
        },
      );
      if (attempts.length <= call.maxHedges) schedule();
    }

    function schedule(): void {
      timer = setTimeout(() => {
        timer = undefined;
        if (settled || signal.aborted) return;
        if (!budget.tryWithdraw()) {
          // No more backups for this call: the budget is what keeps an outage from doubling load.
          metrics.budgetDenied++;
          return;
        }
        metrics.hedgesSent++;
        launch();
      }, call.delayMs);
    }

    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    launch();
  });
}

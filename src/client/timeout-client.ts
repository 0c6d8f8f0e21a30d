// Client SDK: per-endpoint timeouts from a JustInTimeout broker, answered from a local cache.
// No dependency beyond the platform (fetch, AbortSignal, timers); erasable TypeScript only.
import { EndpointTimeoutError } from './errors.ts';
import {
  hedgedFetch,
  hedgePlan,
  methodOf,
  replayable,
  type HedgeMetrics,
  type HedgeSetting,
} from './hedge.ts';
import { createRetryBudget, type RetryBudget, type RetryBudgetOptions } from './retry-budget.ts';

/** Options of {@link createTimeoutClient}. Only `brokerUrl` is required. */
export interface TimeoutClientOptions {
  /**
   * Base URL of the broker, e.g. `http://jit-broker:5000` (a path prefix such as
   * `https://gw.example.com/jit/` is kept).
   */
  brokerUrl: string | URL;
  /**
   * Period of the background refresh: one `GET /v1/endpoints` for every endpoint at once.
   * Each period is jittered by ±10 % so that a fleet of clients does not refresh in step.
   * Default 5000 (ms); at least 100.
   */
  refreshMs?: number;
  /**
   * Timeout (ms) answered for an endpoint this client has never had a computed value for.
   *
   * Default: what the broker itself serves in that case, so that the SDK and `GET /gettimeout`
   * agree — for an endpoint the broker lists but has not computed yet, the broker's default
   * (the `timeoutMs` it lists, `jit broker --default-timeout-ms`, 100 ms unless changed); while
   * the broker was never reached or does not list the endpoint, 100 ms (the broker's built-in
   * default). Setting it replaces both: e.g. your former static timeout, if cutting calls at
   * 100 ms before the first values exist is worse for you than waiting longer on a dead peer.
   */
  fallbackMs?: number | undefined;
  /**
   * Read token, sent as `Authorization: Bearer <token>`. Needed only when the broker runs with a
   * read token (`--read-token`). Default none.
   */
  token?: string | undefined;
  /**
   * Time allowed for one refresh request; the next refresh is scheduled `refreshMs` after it
   * ends, so refreshes never overlap. Default 5000 (ms).
   */
  requestTimeoutMs?: number;
  /** Every answered timeout is at least this. Default 1 (ms). */
  minMs?: number;
  /** Every answered timeout is at most this. Default `Infinity` (ms, no bound). */
  maxMs?: number;
  /**
   * The `fetch` used for refreshes and by {@link TimeoutClient.fetch}. Default the platform's
   * `globalThis.fetch`.
   */
  fetch?: typeof globalThis.fetch;
  /** Called with the error of every failed refresh (for metrics). Default none. */
  onRefreshError?: (error: Error) => void;
  /**
   * Where the client reports that the broker became unreachable and, later, reachable again (one
   * line per change, never per refresh). `null` silences it. Default `console`.
   */
  logger?: { warn(message: string): void } | null;
  /**
   * Hedged requests for every {@link TimeoutClient.fetch} that does not say otherwise (its
   * `init.hedge`): `true` sends a backup request when the first has been outstanding for the
   * endpoint's `hedgeMs` (the p95 the broker serves), for idempotent methods only, at most one,
   * paid for by the endpoint's retry budget; an object tunes delay, count and methods
   * ({@link HedgeOptions}). Default `false` (no hedging unless a call asks for it).
   */
  hedge?: HedgeSetting | undefined;
  /**
   * The retry budget each endpoint gets ({@link RetryBudgetOptions}: `ratio` default 0.1 of the
   * calls, `minPerSecond` default 1 per second, `ttlMs` default 10000 ms). Every `fetch` deposits,
   * every hedge and every caller retry through {@link TimeoutClient.tryRetry} withdraws. One
   * budget per endpoint, because an endpoint is one downstream service: its outage spends its own
   * budget, never another's. Default those defaults.
   */
  retryBudget?: RetryBudgetOptions | undefined;
}

/** {@link TimeoutClient.fetch}'s options: the platform's, and `hedge`. */
export interface TimeoutRequestInit extends RequestInit {
  /**
   * Hedging for this call; overrides the client's `hedge` option. `true`: a backup request after
   * the endpoint's `hedgeMs` from the broker; `{ delayMs }`: after that many ms; `false`: none.
   * Only calls whose method is in `methods` (default the idempotent ones) and whose body is not a
   * stream are hedged. Default the client's `hedge` option (itself default `false`).
   */
  hedge?: HedgeSetting | undefined;
}

/** What the client knows, for health checks and debugging. */
export interface TimeoutClientStatus {
  /** When the last refresh succeeded (epoch ms), if one did. */
  lastRefreshAt: number | undefined;
  /** The error of the last refresh when it failed; undefined after a success. */
  lastError: string | undefined;
  /** Failed refreshes since the last success. */
  consecutiveFailures: number;
  /** Endpoints with a known value, and that value (ms, before `minMs`/`maxMs`). */
  known: Record<string, number>;
  /** Endpoints asked for through this client, in first-use order. */
  inUse: string[];
  /** Endpoints with a known hedge delay (`hedgeMs` from the broker), and that delay (ms). */
  hedges: Record<string, number>;
}

/** A client for one broker; make one per process and share it. */
export interface TimeoutClient {
  /**
   * The current timeout for `endpoint`, in ms, from the local cache: no I/O, never throws.
   * It is the broker's served value (`timeoutMs` of `/v1/endpoints`) as of the last successful
   * refresh; once known, a value is kept while the broker is unreachable or forgets it (for
   * instance after a restart); until a value was ever known, `fallbackMs` when given, else what
   * the broker serves then (its default: 100 ms unless configured). Bounded by `minMs`/`maxMs`.
   *
   * @example
   * ```ts
   * const ms = client.timeoutFor('customer'); // e.g. 4887
   * ```
   */
  timeoutFor(endpoint: string): number;

  /**
   * The platform `fetch`, cut after `timeoutFor(endpoint)` ms: the request's signal is the
   * caller's own (`init.signal`, else the `Request`'s) combined with the timeout. When the timeout
   * expires first the promise rejects (and a body being read errors) with an
   * {@link EndpointTimeoutError} naming the endpoint and the ms; when the caller aborts first, with
   * the caller's reason. The deadline covers reading the body too.
   *
   * With `init.hedge` (or the client's `hedge` option), an idempotent call still unanswered after
   * the endpoint's hedge delay (`hedgeFor(endpoint)`, or `hedge.delayMs`) is sent again, if the
   * endpoint's retry budget allows; the first answer wins and the other attempt is aborted. The
   * deadline covers every attempt.
   *
   * @example
   * ```ts
   * const res = await client.fetch('customer', 'http://customer:8081/customer?id=42', {
   *   headers: { accept: 'application/json' },
   *   hedge: true, // a backup request after the endpoint's hedgeMs (its p95)
   * });
   * ```
   */
  fetch(
    endpoint: string,
    input: string | URL | Request,
    init?: TimeoutRequestInit,
  ): Promise<Response>;

  /**
   * The hedge delay for `endpoint`, in ms, from the local cache: the broker's `hedgeMs` (the p95
   * of the endpoint's window, at most its timeout) as of the last refresh that had one; undefined
   * while none is known (the endpoint is then hedged only with an explicit `hedge.delayMs`).
   */
  hedgeFor(endpoint: string): number | undefined;

  /**
   * Asks `endpoint`'s retry budget for one retry of the caller's own: `true` (a token was taken:
   * retry) or `false` (the budget is spent: do not retry, the service is probably struggling).
   * Hedges draw on the same budget, so hedges and retries together stay within it.
   *
   * @example
   * ```ts
   * let res = await client.fetch('customer', url);
   * if (res.status === 503 && client.tryRetry('customer')) res = await client.fetch('customer', url);
   * ```
   */
  tryRetry(endpoint: string): boolean;

  /** Hedging counters since creation: requests, hedges sent, hedges won, budget denials. */
  metrics(): HedgeMetrics;

  /**
   * An `AbortSignal` that aborts after `timeoutFor(endpoint)` ms with an
   * {@link EndpointTimeoutError}, or when `signal` (the caller's own) aborts. For HTTP libraries
   * that take a signal (undici's `request`, axios, got, `node:http`).
   *
   * @example
   * ```ts
   * const { body } = await undici.request(url, { signal: client.signalFor('customer') });
   * ```
   */
  signalFor(endpoint: string, signal?: AbortSignal | null): AbortSignal;

  /**
   * Settles when the first refresh has finished: `true` if it got the broker's values, `false`
   * if it failed (the client then answers the fallback and keeps trying). Never rejects; bounded by
   * `requestTimeoutMs`. Await it at start-up so that no request uses the fallback needlessly.
   */
  ready(): Promise<boolean>;

  /** Refreshes now (joining a refresh in flight); `true` on success. Never rejects. */
  refresh(): Promise<boolean>;

  /** What the client knows: last refresh, last error, known values, endpoints in use. */
  status(): TimeoutClientStatus;

  /**
   * Stops the background refresh (the timer is unref'd anyway, so it never keeps a process
   * alive). The cache stays readable: `timeoutFor` and `fetch` keep working with the last values.
   */
  close(): void;
}

const DEFAULT_REFRESH_MS = 5000;
/**
 * The broker's built-in default (`DEFAULT_SERVING.defaultTimeoutMs` in src/core/serving.ts, SPEC
 * §2: 100 ms), written out because the SDK depends on nothing of the server; a test keeps them equal.
 */
export const DEFAULT_FALLBACK_MS = 100;
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** Endpoint names remembered as "in use"; beyond that they are still served, just not listed. */
const MAX_IN_USE = 10_000;
/**
 * Endpoints with a retry budget of their own; calls to further names share one overflow budget
 * (a caller inventing names must not grow the client without bound).
 */
const MAX_BUDGETS = 10_000;

function positive(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= min) {
    throw new TypeError(`createTimeoutClient: ${name} must be a number > ${min}, got ${value}`);
  }
  return value;
}

function errorOf(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function describe(err: Error): string {
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = typeof cause?.code === 'string' ? cause.code : cause?.message;
  return typeof detail === 'string' && detail !== '' ? `${err.message} (${detail})` : err.message;
}

/**
 * The served values of a `/v1/endpoints` body: `known` for computed ones (`fresh` or `stale`),
 * `defaults` for the endpoints listed as `never` computed (the broker's default for them).
 */
function listedValues(body: unknown): {
  known: Map<string, number>;
  defaults: Map<string, number>;
  hedges: Map<string, number | undefined>;
} {
  const list = (body as { endpoints?: unknown } | null)?.endpoints;
  if (!Array.isArray(list)) throw new Error('answer is not {"endpoints": [...]}');
  const known = new Map<string, number>();
  const defaults = new Map<string, number>();
  const hedges = new Map<string, number | undefined>();
  for (const item of list as unknown[]) {
    const e = item as {
      endpoint?: unknown;
      timeoutMs?: unknown;
      status?: unknown;
      hedgeMs?: unknown;
    } | null;
    if (typeof e?.endpoint !== 'string') continue;
    if (typeof e.timeoutMs !== 'number' || !Number.isFinite(e.timeoutMs) || e.timeoutMs <= 0) {
      continue;
    }
    // `never`: the broker answers its default, not a value computed for this endpoint; it is
    // used as the fallback, never as a known value (a known value is never replaced by it).
    (e.status === 'never' ? defaults : known).set(e.endpoint, e.timeoutMs);
    // `hedgeMs` is null while the broker has no p95 for the endpoint (and absent from brokers
    // before issue 19): undefined here, and the endpoint is not hedged on the broker's word.
    if (e.status !== 'never') {
      const h = e.hedgeMs;
      hedges.set(e.endpoint, typeof h === 'number' && Number.isFinite(h) && h > 0 ? h : undefined);
    }
  }
  return { known, defaults, hedges };
}

/**
 * Creates a client that answers per-endpoint timeouts from a local cache and refreshes the cache
 * in the background, one request per `refreshMs` for all endpoints. It starts refreshing at
 * once; it never throws because the broker is down (only for invalid options, at creation).
 *
 * @example
 * ```ts
 * import { createTimeoutClient } from 'justintimeout/client';
 *
 * const timeouts = createTimeoutClient({
 *   brokerUrl: process.env.JIT_BROKER_URL ?? 'http://127.0.0.1:5000',
 *   refreshMs: 5000, // default
 *   fallbackMs: 2000, // until the broker has computed an endpoint (default: the broker's 100 ms)
 *   token: process.env.JIT_READ_TOKEN, // only if the broker has a read token
 * });
 * await timeouts.ready(); // optional: first values before serving traffic
 *
 * const res = await timeouts.fetch('customer', 'http://customer:8081/customer?id=42');
 * // or, with any other HTTP library:
 * const ms = timeouts.timeoutFor('customer');
 *
 * process.on('SIGTERM', () => timeouts.close());
 * ```
 */
export function createTimeoutClient(options: TimeoutClientOptions): TimeoutClient {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createTimeoutClient: options must be an object with brokerUrl');
  }
  const base = new URL(String(options.brokerUrl));
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const endpointsUrl = new URL('v1/endpoints', base);
  const refreshMs = positive('refreshMs', options.refreshMs, DEFAULT_REFRESH_MS, 99);
  // undefined: follow the broker (its listed default, else its built-in 100 ms).
  const fallbackMs =
    options.fallbackMs === undefined
      ? undefined
      : positive('fallbackMs', options.fallbackMs, DEFAULT_FALLBACK_MS);
  const requestTimeoutMs = positive(
    'requestTimeoutMs',
    options.requestTimeoutMs,
    DEFAULT_REQUEST_TIMEOUT_MS,
  );
  const minMs = options.minMs ?? 1;
  const maxMs = options.maxMs ?? Number.POSITIVE_INFINITY;
  if (typeof minMs !== 'number' || typeof maxMs !== 'number' || !(minMs >= 0 && minMs <= maxMs)) {
    throw new TypeError(`createTimeoutClient: need 0 <= minMs <= maxMs, got ${minMs}, ${maxMs}`);
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new TypeError('createTimeoutClient: no fetch (pass options.fetch on this platform)');
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const logger = options.logger === undefined ? console : options.logger;
  // Checked now, so that a bad option fails at creation rather than on the first call.
  const clientHedge = options.hedge;
  hedgePlan(clientHedge, 'createTimeoutClient');
  const budgetOptions = options.retryBudget ?? {};
  createRetryBudget(budgetOptions);
  const budgets = new Map<string, RetryBudget>();
  let overflowBudget: RetryBudget | undefined;
  const counters: HedgeMetrics = {
    requests: 0,
    hedgesSent: 0,
    hedgesWon: 0,
    budgetDenied: 0,
    retriesAllowed: 0,
  };

  const values = new Map<string, number>();
  /** Hedge delays (ms) from the broker's `hedgeMs`. */
  const hedges = new Map<string, number>();
  /** The broker's default for the endpoints it lists as never computed, as of the last refresh. */
  let brokerDefaults = new Map<string, number>();
  const inUse = new Set<string>();
  let lastRefreshAt: number | undefined;
  let lastError: string | undefined;
  let consecutiveFailures = 0;
  /** undefined until the first refresh finished. */
  let reachable: boolean | undefined;
  let inflight: Promise<boolean> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const stop = new AbortController();

  async function refreshOnce(): Promise<void> {
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(requestTimeoutMs)]);
    const res = await fetchImpl(endpointsUrl, { headers, signal });
    if (!res.ok) {
      // Not awaited: a cancel may wait on a tee'd branch (a cloned response) forever.
      res.body?.cancel().catch(() => undefined);
      throw new Error(`GET ${endpointsUrl.href} answered HTTP ${res.status}`);
    }
    const listed = listedValues(await res.json());
    for (const [name, ms] of listed.known) values.set(name, ms);
    for (const [name, ms] of listed.hedges) {
      if (ms === undefined) hedges.delete(name);
      else hedges.set(name, ms);
    }
    brokerDefaults = listed.defaults;
  }

  function refresh(): Promise<boolean> {
    inflight ??= refreshOnce().then(
      () => {
        if (reachable === false) logger?.warn(`justintimeout: broker ${base.href} reachable again`);
        reachable = true;
        lastRefreshAt = Date.now();
        lastError = undefined;
        consecutiveFailures = 0;
        return true;
      },
      (err: unknown) => {
        const error = errorOf(err);
        lastError = describe(error);
        consecutiveFailures++;
        if (reachable !== false && !closed) {
          logger?.warn(
            `justintimeout: broker ${base.href} unreachable (${lastError}); serving the last ` +
              `known timeouts, ${fallbackMs === undefined ? "the broker's default" : `${fallbackMs} ms`} ` +
              'for endpoints never known',
          );
        }
        reachable = false;
        try {
          options.onRefreshError?.(error);
        } catch {
          // a failing callback must not stop the refresh loop
        }
        return false;
      },
    );
    const p = inflight;
    void p.finally(() => {
      if (inflight === p) inflight = undefined;
    });
    return p;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(
      () => void refresh().then(schedule),
      refreshMs * (0.9 + Math.random() * 0.2),
    );
    timer.unref?.();
  }

  const first = refresh();
  void first.then(schedule);

  function timeoutFor(endpoint: string): number {
    if (inUse.size < MAX_IN_USE) inUse.add(endpoint);
    const ms =
      values.get(endpoint) ?? fallbackMs ?? brokerDefaults.get(endpoint) ?? DEFAULT_FALLBACK_MS;
    return Math.min(maxMs, Math.max(minMs, ms));
  }

  function signalFor(endpoint: string, signal?: AbortSignal | null): AbortSignal {
    const ms = timeoutFor(endpoint);
    const timeout = new AbortController();
    if (Number.isFinite(ms)) {
      const clock = AbortSignal.timeout(Math.ceil(ms));
      clock.addEventListener(
        'abort',
        () => timeout.abort(new EndpointTimeoutError(endpoint, ms, { cause: clock.reason })),
        { once: true },
      );
    }
    return signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  }

  function budgetFor(endpoint: string): RetryBudget {
    let b = budgets.get(endpoint);
    if (b === undefined) {
      if (budgets.size >= MAX_BUDGETS) return (overflowBudget ??= createRetryBudget(budgetOptions));
      b = createRetryBudget(budgetOptions);
      budgets.set(endpoint, b);
    }
    return b;
  }

  function fetchThrough(
    endpoint: string,
    input: string | URL | Request,
    options: TimeoutRequestInit,
  ): Promise<Response> {
    const { hedge, ...init } = options;
    const caller = init.signal ?? (input instanceof Request ? input.signal : undefined);
    const signal = signalFor(endpoint, caller);
    const budget = budgetFor(endpoint);
    counters.requests++;
    budget.deposit();
    const plan = hedgePlan(hedge === undefined ? clientHedge : hedge, 'fetch');
    const delayMs = plan?.delayMs ?? hedges.get(endpoint);
    if (
      plan === undefined ||
      delayMs === undefined ||
      !plan.methods.includes(methodOf(input, init)) ||
      !replayable(init)
    ) {
      return fetchImpl(input, { ...init, signal });
    }
    return hedgedFetch({
      fetch: fetchImpl,
      input,
      init,
      signal,
      delayMs,
      maxHedges: plan.maxHedges,
      budget,
      metrics: counters,
    });
  }

  return {
    timeoutFor,
    signalFor,
    fetch(endpoint, input, init = {}) {
      try {
        return fetchThrough(endpoint, input, init);
      } catch (err) {
        // A bad per-call hedge option: a rejected promise, as fetch reports bad arguments.
        return Promise.reject(errorOf(err));
      }
    },
    hedgeFor: (endpoint) => hedges.get(endpoint),
    tryRetry(endpoint) {
      if (budgetFor(endpoint).tryWithdraw()) {
        counters.retriesAllowed++;
        return true;
      }
      counters.budgetDenied++;
      return false;
    },
    metrics: () => ({ ...counters }),
    ready: () => first,
    refresh: () => (closed ? Promise.resolve(false) : refresh()),
    status: () => ({
      lastRefreshAt,
      lastError,
      consecutiveFailures,
      known: Object.fromEntries(values),
      inUse: [...inUse],
      hedges: Object.fromEntries(hedges),
    }),
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      stop.abort();
    },
  };
}

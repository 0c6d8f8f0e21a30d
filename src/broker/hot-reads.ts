// The two reads callers make on their hot path, answered by Node's HTTP server before Fastify routes them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { HttpRecorder } from '../core/http-duration.ts';
import type { EndpointRecord, TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';
import { JSON_TYPE, servedFor, TEXT_TYPE } from './serve.ts';

export interface HotReadsDeps {
  config: Readonly<BrokerConfig>;
  store: TimeoutStore;
  /** The JSON text of `GET /v1/timeouts/:endpoint` for a record (shared with that route). */
  viewJson: (rec: EndpointRecord) => string;
  /** The series of a GET route in `jit_http_request_duration_seconds`, shared with the route. */
  recorder: (route: string) => HttpRecorder;
  /** Largest path parameter Fastify's router accepts (its `maxParamLength`). */
  maxParamLength: number;
}

const GETTIMEOUT = '/gettimeout?url=';
const TIMEOUT = '/v1/timeouts/';

/** Characters after which the fast path's reading of a URL could differ from Fastify's. */
const QUERY_VALUE_UNSURE = /[&+#]/;
const PATH_PARAM_UNSURE = /[/?#;]/;

/** `decodeURIComponent`, or undefined for a malformed escape (Fastify decides what that means). */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * The lifecycle hooks Fastify runs for a route (`lifecycleHooks` in fastify/lib/hooks.js): any of
 * them on a hot route could change or observe its answer, and the listener skips them all.
 */
export const LIFECYCLE_HOOKS = [
  'onTimeout',
  'onRequest',
  'preParsing',
  'preValidation',
  'preSerialization',
  'preHandler',
  'onSend',
  'onResponse',
  'onError',
  'onRequestAbort',
] as const;
export type LifecycleHook = (typeof LIFECYCLE_HOOKS)[number];

/** The GET routes the listener answers, as the Fastify routes are declared. */
export const HOT_ROUTES = ['/gettimeout', '/v1/timeouts/:endpoint'] as const;

/** What Fastify's own `buildPrettyMeta` shows besides the lifecycle hooks (fastify.js). */
const DEFAULT_META = [
  'errorHandler',
  'logLevel',
  'logSerializers',
  'onRoute',
  'onRegister',
  'onReady',
  'onListen',
  'preClose',
  'onClose',
];

/** Hooks per lifecycle stage (absent: none). */
export type HookCounts = Partial<Record<LifecycleHook, number>>;

type HookList = ((...args: never[]) => unknown)[] | ((...args: never[]) => unknown) | undefined;

const isHotGet = (route: { method: unknown; url?: unknown; path?: unknown }, url: unknown) =>
  [route.method].flat().includes('GET') && (HOT_ROUTES as readonly unknown[]).includes(url);

const countOf = (list: HookList): number =>
  list === undefined || list === null ? 0 : Array.isArray(list) ? list.length : 1;

function add(into: HookCounts, stage: LifecycleHook, n: number): void {
  if (n !== 0) into[stage] = (into[stage] ?? 0) + n;
}

/**
 * Which Fastify hooks the hot routes run, against the ones the listener reproduces.
 *
 * The listener answers in place of the routes, so every hook Fastify would run for them is
 * skipped. It is sound only for hooks whose effect it reproduces: the HTTP duration recorder
 * (it records in the same series) and the token check while reads are open (it lets every read
 * through). Those are declared by running their installers through `reproduces()`, which records
 * the hooks they add to the routes' scope and, through the `onRoute` hooks they add, to the hot
 * routes themselves. At ready, `check()` compares that with the hooks Fastify actually built for
 * each hot route (read through the router's public `buildPrettyMeta` option): any other hook —
 * a plugin's (CORS, security headers, rate limits, compression), an app-wide `addHook`, a
 * route-level one — and the listener stays off, so the answers are Fastify's. Counted per
 * stage, because Fastify binds every hook to its instance and the functions cannot be compared.
 */
export class HotRouteHooks {
  /** Lifecycle hooks known installers added to the routes' scope (they run for every route in it). */
  private readonly scoped: HookCounts = {};
  /** Route-level hooks known installers' `onRoute` hooks attached to each hot route. */
  private readonly routeLevel = new Map<string, HookCounts>();
  /** The hooks Fastify built for each hot route, as the router last showed them. */
  private readonly built = new Map<string, HookCounts>();
  /** Names of the installers whose hooks the listener reproduces (for messages). */
  readonly reproduced: string[] = [];

  /**
   * Runs `install()`, which adds hooks to `scope` (the scope the hot routes are declared in, or
   * an ancestor of it), and records them as reproduced by the listener. Hooks it adds through a
   * plugin (`register`) load later and are not recorded: they count as unknown, which is safe.
   */
  reproduces(name: string, scope: FastifyInstance, install: () => void): void {
    this.reproduced.push(name);
    const own = Object.getOwnPropertyDescriptor(scope, 'addHook');
    // Called with the scope (or a child) as `this`, as Fastify's own addHook expects.
    const addHook = Reflect.get(scope, 'addHook') as (
      this: FastifyInstance,
      name: string,
      fn: unknown,
    ) => FastifyInstance;
    const { routeLevel, scoped } = this;
    // An installer's onRoute hook, wrapped to see which hooks it attaches to a hot route.
    const wrap = (onRoute: (this: FastifyInstance, route: RouteOptions) => void) =>
      function (this: FastifyInstance, route: RouteOptions) {
        const before = HotRouteHooks.routeCounts(route);
        onRoute.call(this, route);
        if (!isHotGet(route, route.url)) return;
        const after = HotRouteHooks.routeCounts(route);
        const counts = routeLevel.get(route.url) ?? {};
        for (const stage of LIFECYCLE_HOOKS)
          add(counts, stage, (after[stage] ?? 0) - (before[stage] ?? 0));
        routeLevel.set(route.url, counts);
      };
    const recording = function (this: FastifyInstance, name: string, fn: unknown) {
      if ((LIFECYCLE_HOOKS as readonly string[]).includes(name))
        add(scoped, name as LifecycleHook, 1);
      return addHook.call(
        this,
        name,
        name === 'onRoute' ? wrap(fn as Parameters<typeof wrap>[0]) : fn,
      );
    };
    Object.defineProperty(scope, 'addHook', {
      value: recording,
      configurable: true,
      writable: true,
    });
    try {
      install();
    } finally {
      if (own) Object.defineProperty(scope, 'addHook', own);
      else delete (scope as { addHook?: unknown }).addHook;
    }
  }

  private static routeCounts(route: RouteOptions): HookCounts {
    const counts: HookCounts = {};
    for (const stage of LIFECYCLE_HOOKS) add(counts, stage, countOf(route[stage]));
    return counts;
  }

  /**
   * For Fastify's `routerOptions.buildPrettyMeta`: notes the hooks of each hot route and answers
   * what Fastify's default answers (the route's error handler, log settings and hooks), so
   * `printRoutes()` shows the same.
   */
  readonly buildPrettyMeta = (route: {
    method: unknown;
    path: unknown;
    store?: Record<string, unknown>;
  }): Record<string, unknown> => {
    const store = route.store ?? {};
    if (isHotGet(route, route.path)) {
      const counts: HookCounts = {};
      for (const stage of LIFECYCLE_HOOKS) add(counts, stage, countOf(store[stage] as HookList));
      this.built.set(route.path as string, counts);
    }
    const meta: Record<string, unknown> = {};
    for (const key of [...DEFAULT_META, ...LIFECYCLE_HOOKS]) meta[key] = store[key];
    return meta;
  };

  /**
   * Fastify's `routerOptions` with `buildPrettyMeta` added, which is how `check()` reads the
   * routes' hooks. (A find-my-way option Fastify passes on — `routerKeys` in
   * fastify/lib/route.js — that Fastify's types leave out, hence the type of `options`.)
   */
  routerOptions<T extends object>(options: T): T {
    return { ...options, buildPrettyMeta: this.buildPrettyMeta };
  }

  /**
   * Undefined when every hot route of the ready `app` runs exactly the reproduced hooks; else
   * why not (which route, which stage, how many hooks against how many reproduced).
   */
  check(app: FastifyInstance): string | undefined {
    this.built.clear();
    app.printRoutes({ method: 'GET', includeHooks: true }); // calls buildPrettyMeta per route
    const problems: string[] = [];
    for (const url of HOT_ROUTES) {
      const built = this.built.get(url);
      if (built === undefined) {
        problems.push(`GET ${url} is not declared`);
        continue;
      }
      const known = this.routeLevel.get(url) ?? {};
      for (const stage of LIFECYCLE_HOOKS) {
        const expected = (this.scoped[stage] ?? 0) + (known[stage] ?? 0);
        const actual = built[stage] ?? 0;
        if (actual !== expected) {
          problems.push(
            `GET ${url} runs ${actual} ${stage} hook(s), the listener reproduces ${expected}`,
          );
        }
      }
    }
    if (problems.length === 0) return undefined;
    const known = this.reproduced.length > 0 ? this.reproduced.join(', ') : 'none';
    return `${problems.join('; ')} (reproduced: ${known})`;
  }
}

/**
 * A request listener that answers the *successful* case of `GET /gettimeout?url=…` and
 * `GET /v1/timeouts/:endpoint` itself and returns true, or returns false without touching the
 * response so that Fastify handles the request — every error, every other route and method,
 * every URL it is not sure to read exactly as Fastify would (another query parameter, `+`, a
 * malformed escape, …), everything before `start()` and everything while the server is
 * closing. The bytes are the routes' own: the integration test compares every byte of both
 * paths' answers (status line, every header, body) for the same URLs.
 *
 * Why: Fastify's routing, request and reply objects and hooks cost ~15 % of these answers'
 * CPU, which is the margin of the "as fast as a bare Fastify route" target (BENCHMARKS.md,
 * "Serving"). The hooks it skips must be ones it reproduces: `buildBroker` starts it only when
 * `HotRouteHooks.check()` finds no other hook on the routes.
 */
export function hotReads(deps: HotReadsDeps): {
  handle: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Starts answering (the broker does at ready, once the routes' hooks are checked). */
  start: () => void;
  /** Hands every later request to Fastify (which answers 503 while closing). */
  stop: () => void;
  /** Whether it answers now (between start() and stop()). */
  readonly answering: boolean;
  /** Requests answered here since start (tests and diagnostics). */
  readonly answered: number;
} {
  const { config, store, viewJson, maxParamLength } = deps;
  let open = false;
  let answered = 0;
  // Asked for at the first answer: the metrics exist once the app is ready, before it listens.
  let recorders: { gettimeout: HttpRecorder; timeout: HttpRecorder } | undefined;
  const recorded = () =>
    (recorders ??= {
      gettimeout: deps.recorder('/gettimeout'),
      timeout: deps.recorder('/v1/timeouts/:endpoint'),
    });

  const answer = (res: ServerResponse, type: string, body: string) => {
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
    answered++;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url;
    if (!open || req.method !== 'GET' || url === undefined) return false;
    const started = performance.now();
    if (url.startsWith(GETTIMEOUT)) {
      const raw = url.slice(GETTIMEOUT.length);
      if (QUERY_VALUE_UNSURE.test(raw)) return false;
      const name = decoded(raw);
      if (name === undefined) return false;
      let value: number;
      try {
        value = servedFor(store, config, name);
      } catch {
        return false; // unknown endpoint: the route answers the original's 422
      }
      answer(res, TEXT_TYPE, String(value));
      recorded().gettimeout(200, (performance.now() - started) / 1000);
      return true;
    }
    if (url.startsWith(TIMEOUT)) {
      const raw = url.slice(TIMEOUT.length);
      if (raw.length === 0 || raw.length > maxParamLength || PATH_PARAM_UNSURE.test(raw))
        return false;
      const name = decoded(raw);
      const rec = name === undefined ? undefined : store.get(name);
      if (rec === undefined) return false;
      answer(res, JSON_TYPE, viewJson(rec));
      recorded().timeout(200, (performance.now() - started) / 1000);
      return true;
    }
    return false;
  };

  return {
    handle,
    start: () => {
      open = true;
    },
    stop: () => {
      open = false;
    },
    get answering() {
      return open;
    },
    get answered() {
      return answered;
    },
  };
}

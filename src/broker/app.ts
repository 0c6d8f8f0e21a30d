// Broker app factory: wires store, registry, cycle runner and routes. Listening is the caller's job.
import rateLimit from '@fastify/rate-limit';
import { createServer, type ServerOptions } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino, type DestinationStream } from 'pino';
import { installErrorHandlers } from '../core/http-errors.ts';
import { StoreNotDurableError } from '../core/errors.ts';
import { isPostgresUrl, PgStore } from '../store/pg-store.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { TimeoutStore } from '../store/types.ts';
import { installAuth } from './auth.ts';
import type { BrokerConfig } from './config.ts';
import { Cluster } from './cluster.ts';
import { CycleRunner } from './cycle.ts';
import { HotRouteHooks, hotReads } from './hot-reads.ts';
import { installDashboard } from '../dashboard/plugin.ts';
import { BrokerMetrics } from './metrics.ts';
import { installBrokerOpenApi } from './openapi.ts';
import { buildDiscovery, buildOtlp, buildOtlpWindows, type BrokerOtlp } from './otlp.ts';
import type { Discovery } from './discovery.ts';
import { originalRoutes } from './routes-original.ts';
import { v1Routes } from './routes-v1.ts';
import { endpointViewCache, JSON_TYPE } from './serve.ts';
import { WorkerRegistry } from './worker-registry.ts';

/** How often discovered endpoints without recent spans or reports are looked for (ms). */
const DISCOVERY_SWEEP_EVERY_MS = 60_000;

export interface BrokerDeps {
  store?: TimeoutStore;
  /** pino logger options (as Fastify's `logger`, `stream` included) or false; default logs at info. */
  logger?: boolean | Record<string, unknown>;
  /**
   * Answer the hot reads before Fastify when their routes allow it (see hot-reads.ts). Default
   * true; false sends every request through Fastify (the tests compare both).
   */
  hotReads?: boolean;
}

/** Whether the hot reads are answered before Fastify, and if not why. */
export interface HotReadsStatus {
  /** True once the broker is ready and the hot routes run only hooks the listener reproduces. */
  readonly active: boolean;
  /** Why the listener is off (undefined while active, or before ready). */
  readonly reason: string | undefined;
  /** Requests the listener answered. */
  readonly answered: number;
}

export interface Broker {
  app: FastifyInstance;
  /** The broker's logger. (`app.log` is silent: Fastify runs without one, see buildBroker.) */
  log: FastifyBaseLogger;
  config: Readonly<BrokerConfig>;
  store: TimeoutStore;
  registry: WorkerRegistry;
  cycles: CycleRunner;
  hotReads: HotReadsStatus;
  /** The OTLP receiver and its span windows; undefined when `otlpPort` is null (off). */
  otlp: BrokerOtlp | undefined;
  /** Admits discovered endpoints (OTLP spans, workers' reports) and sweeps those gone. */
  discovery: Discovery;
  /** The leader lease and shared workers, with a postgres:// store; undefined otherwise. */
  cluster: Cluster | undefined;
}

/** pino options as Fastify's `logger` takes them (`stream` included), or true/false. */
function brokerLogger(opts: BrokerDeps['logger']): FastifyBaseLogger {
  if (opts === false) return pino({ level: 'silent' });
  if (opts === true || opts === undefined) return pino();
  const { stream, ...options } = opts as { stream?: DestinationStream };
  return stream ? pino(options, stream) : pino(options);
}

/** Builds the broker. Cycles start when the app is ready (`onReady`) and stop on close. */
export function buildBroker(config: Readonly<BrokerConfig>, deps: BrokerDeps = {}): Broker {
  // Callers ask on their hot path, thousands of times a second: two log lines per request would
  // cost more than the answer, so there are none. Fastify itself runs without a logger: with one
  // it makes (and, for a custom factory, validates) a child logger for every request, ~0.5 µs of
  // a ~25 µs answer, for a request id no line would carry. Errors, registrations and cycles are
  // logged through the broker's own logger.
  const log = brokerLogger(deps.logger);
  const ownStore = deps.store === undefined;
  const retentionMs = config.historyRetentionHours * 3_600_000;
  const store =
    deps.store ??
    (isPostgresUrl(config.store)
      ? new PgStore({ url: config.store, retentionMs, log })
      : new SqliteStore({ path: config.store, retentionMs }));
  const pgStore = store instanceof PgStore ? store : undefined;
  const metrics = new BrokerMetrics(config);
  const viewJson = endpointViewCache(config);
  // Endpoint names go up to 512 characters, percent-encoded up to 3 × that in a path parameter.
  const maxParamLength = 2048;
  // The hot reads are answered before Fastify routes them, unless a token guards reads (the
  // check is a Fastify hook) or the routes run a hook the listener does not reproduce (checked
  // at ready): see hot-reads.ts.
  const hotHooks = new HotRouteHooks();
  let hotReason: string | undefined =
    deps.hotReads === false
      ? 'switched off (BrokerDeps.hotReads)'
      : config.readToken !== undefined
        ? 'a read token is configured: its check is a Fastify hook that must run for every read'
        : undefined;
  const hot =
    hotReason === undefined
      ? hotReads({
          config,
          store,
          viewJson,
          maxParamLength,
          recorder: (route) => metrics.httpRecorder('GET', route),
        })
      : undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    // Loading the PostgreSQL view (onReady) of 100 000 endpoints takes longer than Fastify's
    // 10 s for a hook; each of its queries has its own statement timeout (PgStore).
    ...(pgStore ? { pluginTimeout: 0 } : {}),
    // With the hook reader of the hot routes (see HotRouteHooks.routerOptions).
    routerOptions: hotHooks.routerOptions({ maxParamLength }),
    // Fastify's own server settings (getServerInstance in fastify/lib/server.js), with the hot
    // reads in front of its handler.
    serverFactory: (handler, options) => {
      const server = createServer((options.http ?? {}) as ServerOptions, (req, res) => {
        if (hot?.handle(req, res) !== true) handler(req, res);
      });
      server.keepAliveTimeout = options.keepAliveTimeout as number;
      server.requestTimeout = options.requestTimeout as number;
      server.setTimeout(options.connectionTimeout as number);
      const perSocket = options.maxRequestsPerSocket as number;
      if (perSocket > 0) server.maxRequestsPerSocket = perSocket;
      return server;
    },
  });
  installErrorHandlers(app, log);
  let sweepTimer: NodeJS.Timeout | undefined;
  const registry = new WorkerRegistry({
    leaseMs: config.leaseMs,
    legacyLeaseMs: config.legacyLeaseMs,
    legacyGraceMs: config.legacyGraceMs,
    defaultConcurrency: config.concurrency,
    maxWorkers: config.maxWorkers,
    onEvict: (w, reason) => log.warn({ workerId: w.id, url: w.url, reason }, 'worker evicted'),
    ...(pgStore ? { onChange: (event, w) => cluster?.workerChanged(event, w) } : {}),
  });
  // Built with the broker (the windows route reads them); the receiver listens in startBroker.
  const windows = buildOtlpWindows(config);
  const discovery = buildDiscovery(config, store, windows, log);
  const otlp = buildOtlp(config, windows, discovery, log, (status, result) =>
    metrics.otlpAnswered(status, result),
  );
  const cycles = new CycleRunner({
    config,
    store: metrics.observeStore(store),
    registry,
    log,
  });
  const cluster: Cluster | undefined = pgStore
    ? new Cluster({ store: pgStore, cycles, registry, log, leaseMs: config.leaderLeaseMs })
    : undefined;
  if (pgStore) {
    // With a shared store, an admin change is answered once it is durable (another broker
    // may serve it next): the answer waits for the write, 503 when PostgreSQL does not take it.
    app.addHook('onRoute', (route) => {
      if ((route.config as { auth?: string } | undefined)?.auth !== 'admin') return;
      const waitDurable = async (
        _req: unknown,
        reply: { code(n: number): unknown; type(t: string): unknown; statusCode: number },
        payload: unknown,
      ) => {
        if (reply.statusCode >= 400) return payload;
        let timer: NodeJS.Timeout | undefined;
        const durable = await Promise.race([
          pgStore.flush().then(() => true),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), config.leaderLeaseMs))),
        ]);
        clearTimeout(timer);
        if (durable) return payload;
        const err = new StoreNotDurableError(pgStore.label, config.leaderLeaseMs);
        reply.code(err.statusCode);
        reply.type(JSON_TYPE);
        return JSON.stringify(err.toJSON());
      };
      const existing = route.onSend;
      route.onSend = [
        ...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]),
        waitDurable,
      ];
    });
  }

  // Plugins that act on routes load first; the routes are registered after them, in one scope.
  installBrokerOpenApi(app);
  void app.register(rateLimit, { global: false });
  void app.register(async (scope) => {
    // The listener reproduces these two: with reads open the token check lets every read
    // through, and it records its answers in the duration recorder's series.
    hotHooks.reproduces('token check (reads open)', scope, () =>
      installAuth(scope, {
        worker: config.workerToken,
        admin: config.adminToken,
        read: config.readToken,
      }),
    );
    hotHooks.reproduces('HTTP duration recorder', scope, () =>
      metrics.install(scope, { store, registry, cycles }),
    );
    installDashboard(scope);
    originalRoutes(scope, { config, store, registry, cycles });
    v1Routes(scope, { config, store, registry, cycles, log, viewJson, windows, discovery });
    return Promise.resolve();
  });

  app.addHook('onReady', async () => {
    // The shared store's view is loaded before anything is served or computed from it.
    await pgStore?.open();
    if (hot !== undefined) {
      hotReason = hotHooks.check(app);
      if (hotReason === undefined) hot.start();
      else log.warn({ reason: hotReason }, 'hot reads answered through Fastify');
    }
    if (cluster) {
      // Every broker serves the shared view at once; the cycles run where the lease is.
      cycles.listLoaded = true;
      await cluster.start();
    } else cycles.start();
    // Discovered endpoints that went away (no spans, no reports) leave the list. Not with several
    // brokers: each one sees only the spans and reports sent to it, and would drop the others'.
    if (!cluster) {
      sweepTimer = setInterval(() => {
        discovery.sweep().catch((err: unknown) => log.error({ err }, 'discovery sweep failed'));
      }, DISCOVERY_SWEEP_EVERY_MS);
      sweepTimer.unref();
    }
  });
  // Requests that arrive while closing go to Fastify, which answers them 503.
  app.addHook('preClose', () => {
    hot?.stop();
    return Promise.resolve();
  });
  app.addHook('onClose', async () => {
    if (sweepTimer) clearInterval(sweepTimer);
    await cluster?.stop();
    await cycles.stop();
    // Exports in flight finish (their spans are durable) before the windows close.
    await otlp?.close();
    if (ownStore) {
      if (pgStore) await pgStore.shutdown();
      else store.close();
    }
  });
  const hotReadsStatus: HotReadsStatus = {
    get active() {
      return hot?.answering ?? false;
    },
    get reason() {
      return hotReason;
    },
    get answered() {
      return hot?.answered ?? 0;
    },
  };
  return {
    app,
    log,
    config,
    store,
    registry,
    cycles,
    hotReads: hotReadsStatus,
    otlp,
    discovery,
    cluster,
  };
}

// Broker app factory: wires store, registry, cycle runner and routes. Listening is the caller's job.
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandlers } from '../core/http-errors.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';
import { CycleRunner } from './cycle.ts';
import { originalRoutes } from './routes-original.ts';
import { v1Routes } from './routes-v1.ts';
import { WorkerRegistry } from './worker-registry.ts';

export interface BrokerDeps {
  store?: TimeoutStore;
  /** pino logger options or false; default logs at info. */
  logger?: boolean | Record<string, unknown>;
}

export interface Broker {
  app: FastifyInstance;
  config: Readonly<BrokerConfig>;
  store: TimeoutStore;
  registry: WorkerRegistry;
  cycles: CycleRunner;
}

/** Builds the broker. Cycles start when the app is ready (`onReady`) and stop on close. */
export function buildBroker(config: Readonly<BrokerConfig>, deps: BrokerDeps = {}): Broker {
  const app = Fastify({ logger: deps.logger ?? true, bodyLimit: 64 * 1024 });
  installErrorHandlers(app);
  const ownStore = deps.store === undefined;
  const store =
    deps.store ??
    new SqliteStore({ path: config.store, retentionMs: config.historyRetentionHours * 3_600_000 });
  const registry = new WorkerRegistry({
    leaseMs: config.leaseMs,
    legacyLeaseMs: config.legacyLeaseMs,
    defaultConcurrency: config.concurrency,
    maxWorkers: config.maxWorkers,
    onEvict: (w, reason) => app.log.warn({ workerId: w.id, url: w.url, reason }, 'worker evicted'),
  });
  const cycles = new CycleRunner({ config, store, registry, log: app.log });

  originalRoutes(app, { config, store, registry, cycles });
  v1Routes(app, { config, store, registry, cycles });

  app.addHook('onReady', () => {
    cycles.start();
    return Promise.resolve();
  });
  app.addHook('onClose', async () => {
    await cycles.stop();
    if (ownStore) store.close();
  });
  return { app, config, store, registry, cycles };
}

// `justintimeout/server`: the programmatic API — broker and worker factories, their configs, the strategy and source registries.
//
// Everything here is also what `jit broker` / `jit worker` use. Importing it loads Fastify,
// SQLite and the built-in strategies, never @tensorflow/tfjs (only strategy `seed`'s training
// threads load it). Documented in docs/api.md; anything not exported here is internal.

// Broker
export { brokerConfig, brokerConfigSchema } from './broker/config.ts';
export type { BrokerConfig, BrokerConfigInput } from './broker/config.ts';
export { buildBroker } from './broker/app.ts';
export type { Broker, BrokerDeps } from './broker/app.ts';
export { startBroker } from './broker/run.ts';
export type { RunningBroker } from './broker/run.ts';

// Worker
export { workerConfig, workerConfigSchema } from './worker/config.ts';
export type { WorkerConfig, WorkerConfigInput } from './worker/config.ts';
export { buildWorker } from './worker/app.ts';
export type { WorkerApp, WorkerDeps } from './worker/app.ts';
export { startWorker } from './worker/run.ts';
export type { RunningWorker } from './worker/run.ts';
export type { ComputeJob, ComputeResult, ComputeReply } from './protocol/worker-api.ts';

// Strategies: the built-ins and your own, registered by name
export {
  createStrategy,
  comparableStrategyNames,
  DEFAULT_STRATEGY,
  registerStrategy,
  strategyNames,
} from './strategies/registry.ts';
export type {
  PreviousComputation,
  StrategyFactory,
  StrategyInput,
  StrategyResult,
  TimeoutStrategy,
} from './strategies/types.ts';

// Latency sources: where a worker reads durations, registered by name
export { createSource, registerSource, sourceNames } from './sources/registry.ts';
export type { SourceFactory } from './sources/registry.ts';
export type { FetchOptions, LatencySource, LatencyWindow } from './sources/types.ts';

// Stores: where a broker keeps values and history (`BrokerDeps.store`)
export { MemoryStore } from './store/memory-store.ts';
export type { MemoryStoreOptions } from './store/memory-store.ts';
export { SqliteStore } from './store/sqlite-store.ts';
export type { SqliteStoreOptions } from './store/sqlite-store.ts';
export type * from './store/types.ts';

// Errors: every one carries a stable `code` and the HTTP status it maps to
export * from './core/errors.ts';

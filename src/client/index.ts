// `justintimeout/client`: the client SDK's public API (per-endpoint timeouts from a broker, hedging).
export { createTimeoutClient } from './timeout-client.ts';
export type {
  TimeoutClient,
  TimeoutClientOptions,
  TimeoutClientStatus,
  TimeoutRequestInit,
} from './timeout-client.ts';
export { createRetryBudget } from './retry-budget.ts';
export type { RetryBudget, RetryBudgetOptions } from './retry-budget.ts';
export { IDEMPOTENT_METHODS } from './hedge.ts';
export type { HedgeMetrics, HedgeOptions, HedgeSetting } from './hedge.ts';
export { EndpointTimeoutError } from './errors.ts';

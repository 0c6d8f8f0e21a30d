// `justintimeout/client`: the client SDK's public API (per-endpoint timeouts from a broker).
export { createTimeoutClient } from './timeout-client.ts';
export type { TimeoutClient, TimeoutClientOptions, TimeoutClientStatus } from './timeout-client.ts';
export { EndpointTimeoutError } from './errors.ts';

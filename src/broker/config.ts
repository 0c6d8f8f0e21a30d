// Broker configuration: one zod schema with defaults and units in names; validated once at start.
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { DEFAULT_SERVING } from '../core/serving.ts';

export const brokerConfigSchema = z
  .object({
    /** Interface to listen on. Default 127.0.0.1 (use 0.0.0.0 to serve other hosts). */
    host: z.string().min(1).default('127.0.0.1'),
    /** Port to listen on; 0 picks a free one. Default 5000 (the original's). */
    port: z.number().int().min(0).max(65535).default(5000),
    /** Endpoint list, one name per line, re-read every cycle. Default "endpoints.config". */
    endpointsFile: z.string().min(1).default('endpoints.config'),
    /** Pause between the end of one cycle and the start of the next. Default 5000 (ms). */
    cyclePauseMs: z.number().int().min(0).default(5000),
    /** Time allowed for one call to a worker. Default 30000 (ms). */
    callTimeoutMs: z.number().int().positive().default(30_000),
    /**
     * Jobs sent in one call at most, to workers that announce they take batches (1 = one job
     * per call). Batching saves a broker–worker round trip per job: ~1.5 ms of CPU per job on
     * the standard machine (BENCHMARKS.md, "Cycle"). Default 8.
     */
    batchSize: z.number().int().positive().max(1000).default(8),
    /** Jobs in flight per worker when the worker announces none. Default 1. */
    concurrency: z.number().int().positive().max(1024).default(1),
    /** Attempts per endpoint per cycle (the first call plus retries on other workers). Default 2. */
    maxAttempts: z.number().int().positive().max(10).default(2),
    /** A worker without a heartbeat for this long is evicted. Default 30000 (ms). */
    leaseMs: z.number().int().positive().default(30_000),
    /** Lease of workers registered through the original's GET /register (they renew every 10 min). Default 1500000 (ms). */
    legacyLeaseMs: z
      .number()
      .int()
      .positive()
      .default(25 * 60_000),
    /** Port of workers registered through GET /register (the original's fixed port). Default 7000. */
    legacyWorkerPort: z.number().int().min(1).max(65535).default(7000),
    /** Target false-timeout rate α sent with every job. Default 0.001. */
    alpha: z.number().gt(0).lt(1).default(0.001),
    /** Strategy every job names; unset leaves the choice to each worker. Default unset. */
    strategy: z.string().min(1).optional(),
    /** A new value above spikeFactor × old is a spike. Default 5 (×). */
    spikeFactor: z.number().positive().default(DEFAULT_SERVING.spikeFactor),
    /** A spike is stored as spikeReplaceFactor × old. Default 2 (×). */
    spikeReplaceFactor: z.number().positive().default(DEFAULT_SERVING.spikeReplaceFactor),
    /** Stored values above this get the multiplicative margin. Default 5 (ms). */
    marginThresholdMs: z.number().min(0).default(DEFAULT_SERVING.marginThresholdMs),
    /** Multiplicative served margin. Default 1.1 (×). */
    marginFactor: z.number().positive().default(DEFAULT_SERVING.marginFactor),
    /** Additive served margin for small values. Default 1 (ms). */
    marginAddMs: z.number().min(0).default(DEFAULT_SERVING.marginAddMs),
    /** Served before anything was computed. Default 100 (ms). */
    defaultTimeoutMs: z.number().int().positive().default(DEFAULT_SERVING.defaultTimeoutMs),
    /** Lower clamp on served values. Default 0 (ms). */
    minMs: z.number().min(0).default(DEFAULT_SERVING.minMs),
    /** Upper clamp on served values. Default Infinity (ms, no clamp). */
    maxMs: z
      .union([z.number().positive(), z.literal(Number.POSITIVE_INFINITY)])
      .default(DEFAULT_SERVING.maxMs),
    /** Most workers that may be registered at once. Default 1000. */
    maxWorkers: z.number().int().positive().default(1000),
    /** Most endpoints (file and API together). Default 100000. */
    maxEndpoints: z.number().int().positive().default(100_000),
    /**
     * SQLite file holding values, history and API-added endpoints, or ":memory:". Default
     * ":memory:" here; the `jit broker` command defaults to jit-data/broker.db.
     */
    store: z.string().min(1).default(':memory:'),
    /** History older than this is deleted. Default 168 (h, one week). */
    historyRetentionHours: z.number().positive().default(168),
    /** Token workers must present to register, heartbeat and unregister. Default none (open). */
    workerToken: z.string().min(16, 'tokens must have at least 16 characters').optional(),
    /** Token for the admin routes (PUT/DELETE /v1/endpoints/:name). Default none (open). */
    adminToken: z.string().min(16, 'tokens must have at least 16 characters').optional(),
    /** Token for reads (timeouts, endpoints, workers, history). Default none (open). */
    readToken: z.string().min(16, 'tokens must have at least 16 characters').optional(),
    /** Requests per minute per client on registration and admin routes. Default 120. */
    rateLimitPerMinute: z.number().int().positive().default(120),
    /** Worker replies above this are rejected as implausible (old value kept). Default 3600000 (ms, 1 h). */
    maxAcceptedMs: z.number().positive().default(3_600_000),
  })
  .strict()
  .refine((c) => c.minMs <= c.maxMs, { message: 'minMs must not exceed maxMs', path: ['minMs'] });

export type BrokerConfig = z.infer<typeof brokerConfigSchema>;
export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;

export function brokerConfig(input: BrokerConfigInput = {}): Readonly<BrokerConfig> {
  return parseConfig(brokerConfigSchema, input);
}

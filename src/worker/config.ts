// Worker configuration: one zod schema with defaults and units in names; validated once at start.
import { z } from 'zod';
import { parseConfig } from '../core/config.ts';
import { DEFAULT_STRATEGY } from '../strategies/registry.ts';

export const workerConfigSchema = z
  .object({
    /** Interface to listen on. Default 127.0.0.1 (use 0.0.0.0 to accept remote brokers). */
    host: z.string().min(1).default('127.0.0.1'),
    /** Port to listen on; 0 picks a free one. Default 7000 (the original's). */
    port: z.number().int().min(0).max(65535).default(7000),
    /** Broker base URL. Default http://127.0.0.1:5000. */
    brokerUrl: z.url().default('http://127.0.0.1:5000'),
    /** URL the broker reaches this worker at. Default http://<host>:<bound port>. */
    advertiseUrl: z.url().optional(),
    /** Whether to register with the broker at all (off for a stand-alone worker). Default true. */
    register: z.boolean().default(true),
    /** Token the broker asks of workers (sent as a bearer token). Default none. */
    workerToken: z.string().min(1).optional(),
    /** Heartbeat period. Default 10000 (ms). */
    heartbeatMs: z.number().int().positive().default(10_000),
    /** Jobs this worker accepts at once; announced to the broker. Default 1. */
    concurrency: z.number().int().positive().max(1024).default(1),
    /** Jobs this worker takes in one call (POST /v1/compute/batch); announced to the broker. Default 64. */
    maxBatch: z.number().int().positive().max(1000).default(64),
    /** Latency source name. Default "seed-sample" when no InfluxDB is configured. */
    source: z.string().min(1).default('seed-sample'),
    /** Default strategy name (a job may name another). Default "adaptive" (see docs/strategies.md). */
    strategy: z.string().min(1).default(DEFAULT_STRATEGY),
    /** Target false-timeout rate α when the job names none. Default 0.001. */
    alpha: z.number().gt(0).lt(1).default(0.001),
    /** How far back the window reaches. Default 48 (h). */
    windowHours: z.number().positive().default(48),
    /** Most recent durations kept per window. Default 5000. */
    windowLimit: z.number().int().positive().max(1_000_000).default(5000),
    /** Options for the source adapter (e.g. InfluxDB URL, database, token). */
    sourceOptions: z.record(z.string(), z.unknown()).default({}),
    /** Options per strategy name, e.g. { sigma: { k: 3 } }; unnamed strategies use their defaults. */
    strategyOptions: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  })
  .strict();

export type WorkerConfig = z.infer<typeof workerConfigSchema>;
export type WorkerConfigInput = z.input<typeof workerConfigSchema>;

export function workerConfig(input: WorkerConfigInput = {}): Readonly<WorkerConfig> {
  return parseConfig(workerConfigSchema, input);
}

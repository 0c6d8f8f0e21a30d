// Worker configuration: one zod schema with defaults and units in names, and its command-line table.
import { z } from 'zod';
import { httpUrl, parseConfig, type CliOptionTable } from '../core/config.ts';
import { sourceNames } from '../sources/registry.ts';
import { BUILT_IN_STRATEGIES, DEFAULT_STRATEGY } from '../strategies/names.ts';

export const workerConfigSchema = z
  .object({
    /** Interface to listen on. Default 127.0.0.1 (use 0.0.0.0 to accept remote brokers). */
    host: z.string().min(1).default('127.0.0.1'),
    /** Port to listen on; 0 picks a free one. Default 7000 (the original's). */
    port: z.number().int().min(0).max(65535).default(7000),
    /** Broker base URL (http or https, with the scheme). Default http://127.0.0.1:5000. */
    brokerUrl: httpUrl().default('http://127.0.0.1:5000'),
    /** URL the broker reaches this worker at (http or https). Default http://<host>:<bound port>. */
    advertiseUrl: httpUrl().optional(),
    /** Whether to register with the broker at all (off for a stand-alone worker). Default true. */
    register: z.boolean().default(true),
    /** Token the broker asks of workers (sent as a bearer token). Default none. */
    workerToken: z.string().min(1).optional(),
    /** Heartbeat period. Default 10000 (ms). */
    heartbeatMs: z.number().int().positive().default(10_000),
    /**
     * Port an original broker calls this worker on (`GET /computetimeout`, on the address it saw
     * the worker's GET /register from); used only when the broker has no v1 API. When the worker
     * does not listen there already, it also answers there. Default 7000 (the original's).
     */
    legacyPort: z.number().int().min(1).max(65535).default(7000),
    /** Renewal period of a registration with an original broker (GET /register). Default 600000 (ms, the original's 10 min). */
    legacyRenewMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
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
    /**
     * Report the endpoints the source finds in its data to the broker (POST /v1/discovered),
     * which admits them as it admits the OTLP receiver's. Needs a source that discovers
     * (influxdb) and registration. Default false.
     */
    discover: z.boolean().default(false),
    /** Pause between two discoveries. Default 60000 (ms). */
    discoverIntervalMs: z.number().int().positive().default(60_000),
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

/**
 * The worker's command-line options (`jit worker`) for the keys of its schema; the InfluxDB and
 * sigma flags come from the tables of those schemas (src/cli/worker-command.ts). The default of
 * each comes from the schema; `jit worker --help` shows it.
 */
export const workerCliOptions: CliOptionTable<WorkerConfigInput> = {
  host: { env: 'JIT_WORKER_HOST', arg: 'host', help: 'interface to listen on (0.0.0.0 for all)' },
  port: { env: 'JIT_WORKER_PORT', arg: 'port', help: 'port to listen on (0 = any free port)' },
  brokerUrl: {
    flag: '--broker',
    env: 'JIT_BROKER_URL',
    arg: 'url',
    help: 'broker base URL (with $BROKER_IP set and no flag: http://$BROKER_IP:5000)',
    url: true,
  },
  advertiseUrl: {
    env: 'JIT_ADVERTISE_URL',
    arg: 'url',
    help: 'URL the broker reaches this worker at',
    defaultText: 'http://<host>:<port>',
    url: true,
  },
  register: {
    env: 'JIT_NO_REGISTER',
    help: 'do not register with a broker (stand-alone worker); the variable takes 1/true/yes/on or 0/false/no/off',
    defaultText: 'registers',
  },
  workerToken: {
    env: 'JIT_WORKER_TOKEN',
    arg: 'token',
    help: 'token the broker asks of workers',
    defaultText: 'none',
    fromFile: true,
  },
  heartbeatMs: { env: 'JIT_HEARTBEAT_MS', unit: 'ms', help: 'heartbeat period' },
  legacyPort: {
    env: 'JIT_WORKER_LEGACY_PORT',
    arg: 'port',
    help: 'port an original broker (no v1 API) calls this worker on; answered there too if needed',
  },
  legacyRenewMs: {
    env: 'JIT_LEGACY_RENEW_MS',
    unit: 'ms',
    help: 'renewal period of a registration with an original broker (GET /register)',
  },
  concurrency: {
    env: 'JIT_WORKER_CONCURRENCY',
    arg: 'n',
    help: 'jobs this worker takes at once (announced to the broker)',
  },
  maxBatch: {
    env: 'JIT_MAX_BATCH',
    arg: 'n',
    help: 'jobs this worker takes in one call, POST /v1/compute/batch (announced to the broker)',
  },
  source: {
    env: 'JIT_SOURCE',
    arg: 'name',
    help: `latency source: ${sourceNames().join('|')}`,
    // Chosen at start from the other options (see worker-command.ts), not a fixed default.
    defaultText:
      'influxdb when an InfluxDB URL is set, else prometheus when a Prometheus URL is, else seed-sample',
  },
  strategy: {
    env: 'JIT_STRATEGY',
    arg: 'name',
    help: `default strategy: ${BUILT_IN_STRATEGIES.join('|')}`,
  },
  alpha: {
    env: 'JIT_ALPHA',
    arg: 'rate',
    help: 'target false-timeout rate when a job names none (0..1)',
  },
  windowHours: {
    env: 'JIT_WINDOW_HOURS',
    arg: 'h',
    unit: 'hours',
    help: 'how far back the window reaches',
  },
  windowLimit: { env: 'JIT_WINDOW_LIMIT', arg: 'n', help: 'most recent durations kept per window' },
  discover: {
    env: 'JIT_DISCOVER',
    help: "report the endpoints found in the source's data to the broker (its --discovery-allow/--discovery-deny and --max-endpoints apply); the variable takes 1/true/yes/on or 0/false/no/off",
    defaultText: 'off',
  },
  discoverIntervalMs: {
    env: 'JIT_DISCOVER_INTERVAL_MS',
    unit: 'ms',
    help: 'pause between two discoveries (with --discover)',
  },
  sourceOptions: null,
  strategyOptions: {
    env: 'JIT_STRATEGY_OPTIONS',
    arg: 'json',
    help: 'options per strategy, e.g. {"adaptive":{"maxOverMaxFactor":1.5}}',
    defaultText: 'none',
  },
};

/**
 * The options the worker's source is created with: its `sourceOptions`, and for source `otlp`
 * (which reads the windows from the broker) the worker's own `brokerUrl` and `workerToken`
 * unless the source options name others.
 */
export function sourceOptionsOf(config: Readonly<WorkerConfig>): Record<string, unknown> {
  if (config.source !== 'otlp') return { ...config.sourceOptions };
  return {
    brokerUrl: config.brokerUrl,
    ...(config.workerToken === undefined ? {} : { workerToken: config.workerToken }),
    ...config.sourceOptions,
  };
}

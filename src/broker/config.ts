// Broker configuration: one zod schema with defaults and units in names, and its command-line table.
import { z } from 'zod';
import { parseConfig, type CliOptionTable } from '../core/config.ts';
import { DEFAULT_SERVING } from '../core/serving.ts';
import { strategyNameProblem } from '../strategies/names.ts';
import { patternProblem } from './name-patterns.ts';
import { compileNaming } from '../otlp/naming.ts';

const token = () => z.string().min(16, 'tokens must have at least 16 characters').optional();

/** Endpoint-name patterns (`--discovery-allow`, `--discovery-deny`): globs, or /regular expressions/. */
const patterns = () =>
  z
    .array(
      z
        .string()
        .min(1)
        .superRefine((p, ctx) => {
          const problem = patternProblem(p);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
    )
    .default([]);

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
    /**
     * Time allowed for one call to a worker registered through GET /register: the original's
     * ConvLSTM takes 24–59 s per call on 2 cores, and the original broker waited for ever.
     * Default 120000 (ms).
     */
    legacyCallTimeoutMs: z.number().int().positive().default(120_000),
    /**
     * A worker registered through GET /register is not evicted for a refused connection during
     * this long after its last GET /register: the original worker registers before its HTTP
     * server listens (and loads TensorFlow first). Default 60000 (ms).
     */
    legacyGraceMs: z.number().int().min(0).default(60_000),
    /** Target false-timeout rate α sent with every job. Default 0.001. */
    alpha: z.number().gt(0).lt(1).default(0.001),
    /** Strategy every job names; unset leaves the choice to each worker. Default unset. */
    strategy: z
      .string()
      .min(1)
      .superRefine((name, ctx) => {
        const problem = strategyNameProblem(name);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
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
     * SQLite file holding values, history and API-added endpoints, ":memory:", or a
     * postgres://user@host:port/db URL shared by several brokers (the scheme selects it). Default
     * ":memory:" here; the `jit broker` command defaults to jit-data/broker.db.
     */
    store: z.string().min(1).default(':memory:'),
    /**
     * With a postgres:// store, brokers sharing it elect one leader to run the cycles; a leader
     * that stops renewing its lease for this long is replaced (within two of these). Default
     * 10000 (ms).
     */
    leaderLeaseMs: z.number().int().min(300).default(10_000),
    /** History older than this is deleted. Default 168 (h, one week). */
    historyRetentionHours: z.number().positive().default(168),
    /** Token workers must present to register, heartbeat and unregister. Default none (open). */
    workerToken: token(),
    /** Token for the admin routes (PUT/DELETE /v1/endpoints/:name). Default none (open). */
    adminToken: token(),
    /** Token for reads (timeouts, endpoints, workers, history). Default none (open). */
    readToken: token(),
    /** Requests per minute per client on registration and admin routes. Default 120. */
    rateLimitPerMinute: z.number().int().positive().default(120),
    /** Worker replies above this are rejected as implausible (old value kept). Default 3600000 (ms, 1 h). */
    maxAcceptedMs: z.number().positive().default(3_600_000),
    /** Interface the OTLP receiver listens on. Default: the broker's `host`. */
    otlpHost: z.string().min(1).optional(),
    /**
     * Port of the OTLP/HTTP receiver (`POST /v1/traces`); 0 picks a free one, null turns it off.
     * Default null (off) here, so that programs and tests building brokers never bind 4318; the
     * `jit broker` command defaults to 4318 and reads `--otlp-port 0` as off (issue 15).
     */
    otlpPort: z.number().int().min(0).max(65535).nullable().default(null),
    /** Token OTLP exporters must send (`Authorization: Bearer …`). Default none (open). */
    otlpToken: token(),
    /** Largest export body accepted as received (compressed or not). Default 4194304 (bytes, 4 MiB). */
    otlpMaxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
    /** Largest export body accepted once decompressed. Default 16777216 (bytes, 16 MiB). */
    otlpMaxDecompressedBytes: z
      .number()
      .int()
      .positive()
      .default(16 * 1024 * 1024),
    /**
     * Exports handled at once (each waits until its spans are durable); more are answered 503
     * with Retry-After. Default 8.
     */
    otlpMaxInFlight: z.number().int().positive().max(1024).default(8),
    /**
     * Only endpoints whose names match one of these are discovered, from OTLP spans or workers'
     * reports (empty: all; with `otlpAllow`, a name matching either list). Default none.
     */
    discoveryAllow: patterns(),
    /** Endpoints whose names match one of these (or of `otlpDeny`) are never discovered. Default none. */
    discoveryDeny: patterns(),
    /** The earlier name of `discoveryAllow`, still read; both lists apply. Default none. */
    otlpAllow: patterns(),
    /** The earlier name of `discoveryDeny`, still read; both lists apply. Default none. */
    otlpDeny: patterns(),
    /** An endpoint workers reported (`--discover`) and no longer report for this long is dropped. Default 48 (h). */
    discoveryMaxAgeHours: z.number().positive().default(48),
    /**
     * Endpoint-name templates per span kind, replacing the default rules for that kind (see
     * docs/otlp.md), e.g. `{"server": "{service.name} {http.route|span.name}"}`. Default none.
     */
    otlpNameTemplates: z
      .partialRecord(
        z.enum(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']),
        z.string().min(1),
      )
      .superRefine((templates, ctx) => {
        try {
          compileNaming({ templates });
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .default({}),
    /** Most recent spans kept per endpoint window. Default 5000 (as the InfluxDB source reads). */
    otlpWindowLimit: z.number().int().positive().max(1_000_000).default(5000),
    /** Spans older than this leave the windows; a discovered endpoint without any is dropped. Default 48 (h). */
    otlpWindowHours: z.number().positive().default(48),
  })
  .strict()
  .refine((c) => c.minMs <= c.maxMs, { message: 'minMs must not exceed maxMs', path: ['minMs'] });

export type BrokerConfig = z.infer<typeof brokerConfigSchema>;
export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;

export function brokerConfig(input: BrokerConfigInput = {}): Readonly<BrokerConfig> {
  return parseConfig(brokerConfigSchema, input);
}

/**
 * The broker's command-line options (`jit broker`): flag, variable and help per config key. The
 * default of each comes from the schema above; `jit broker --help` shows it.
 */
export const brokerCliOptions: CliOptionTable<BrokerConfigInput> = {
  host: { env: 'JIT_BROKER_HOST', arg: 'host', help: 'interface to listen on (0.0.0.0 for all)' },
  port: { env: 'JIT_BROKER_PORT', arg: 'port', help: 'port to listen on (0 = any free port)' },
  endpointsFile: {
    flag: '--endpoints',
    env: 'JIT_ENDPOINTS',
    arg: 'file',
    help: 'endpoint list, one name per line, re-read every cycle',
  },
  cyclePauseMs: {
    env: 'JIT_CYCLE_PAUSE_MS',
    unit: 'ms',
    help: 'pause between the end of a cycle and the next',
  },
  callTimeoutMs: {
    env: 'JIT_CALL_TIMEOUT_MS',
    unit: 'ms',
    help: 'time allowed for one call to a worker',
  },
  batchSize: {
    env: 'JIT_BATCH_SIZE',
    arg: 'n',
    help: 'jobs per call at most, to workers that take batches (1 = one job per call)',
  },
  concurrency: {
    env: 'JIT_CONCURRENCY',
    arg: 'n',
    help: 'jobs in flight per worker (when the worker announces none)',
  },
  maxAttempts: {
    env: 'JIT_MAX_ATTEMPTS',
    arg: 'n',
    help: 'attempts per endpoint per cycle, each on another worker',
  },
  leaseMs: {
    env: 'JIT_LEASE_MS',
    unit: 'ms',
    help: 'evict a worker after this long without a heartbeat',
  },
  legacyLeaseMs: {
    env: 'JIT_LEGACY_LEASE_MS',
    unit: 'ms',
    help: 'lease of workers registered via GET /register',
  },
  legacyWorkerPort: {
    env: 'JIT_LEGACY_WORKER_PORT',
    arg: 'port',
    help: 'port the broker calls workers registered via GET /register on (the original: 7000)',
  },
  legacyCallTimeoutMs: {
    env: 'JIT_LEGACY_CALL_TIMEOUT_MS',
    unit: 'ms',
    help: 'time allowed for one call to a worker registered via GET /register',
  },
  legacyGraceMs: {
    env: 'JIT_LEGACY_GRACE_MS',
    unit: 'ms',
    help: 'a worker that just called GET /register is not evicted for a refused connection for this long',
  },
  alpha: {
    env: 'JIT_ALPHA',
    arg: 'rate',
    help: 'target false-timeout rate sent with every job (0..1)',
  },
  strategy: {
    env: 'JIT_BROKER_STRATEGY',
    arg: 'name',
    help: 'strategy every job names',
    defaultText: "each worker's own",
  },
  spikeFactor: {
    env: 'JIT_SPIKE_FACTOR',
    arg: 'x',
    help: 'a new value above this × the old one is a spike',
  },
  spikeReplaceFactor: {
    env: 'JIT_SPIKE_REPLACE_FACTOR',
    arg: 'x',
    help: 'a spike is stored as this × the old value',
  },
  marginThresholdMs: {
    env: 'JIT_MARGIN_THRESHOLD_MS',
    unit: 'ms',
    help: 'stored values above this get the multiplicative margin',
  },
  marginFactor: {
    env: 'JIT_MARGIN_FACTOR',
    arg: 'x',
    help: 'multiplicative margin on served values',
  },
  marginAddMs: { env: 'JIT_MARGIN_ADD_MS', unit: 'ms', help: 'additive margin for small values' },
  defaultTimeoutMs: {
    env: 'JIT_DEFAULT_TIMEOUT_MS',
    unit: 'ms',
    help: 'served before anything is computed',
  },
  minMs: { env: 'JIT_MIN_MS', unit: 'ms', help: 'lower clamp on served timeouts' },
  maxMs: { env: 'JIT_MAX_MS', unit: 'ms', help: 'upper clamp on served timeouts' },
  maxWorkers: { env: 'JIT_MAX_WORKERS', arg: 'n', help: 'most workers registered at once' },
  maxEndpoints: {
    env: 'JIT_MAX_ENDPOINTS',
    arg: 'n',
    help: 'most endpoints (file and API together)',
  },
  store: {
    env: 'JIT_STORE',
    arg: 'path|url',
    help: 'SQLite file for values, history and API-added endpoints (":memory:" for none), or a postgres:// URL several brokers share',
    // The library keeps its store in memory (no stray files from programs and tests); the
    // command users run keeps its values in a file (docs/decisions.md).
    cliDefault: 'jit-data/broker.db',
  },
  leaderLeaseMs: {
    env: 'JIT_LEADER_LEASE_MS',
    unit: 'ms',
    help: 'with a postgres:// store: a leader that does not renew its lease for this long is replaced',
  },
  historyRetentionHours: {
    env: 'JIT_HISTORY_RETENTION_HOURS',
    arg: 'h',
    unit: 'hours',
    help: 'history older than this is deleted',
  },
  workerToken: {
    env: 'JIT_WORKER_TOKEN',
    arg: 'token',
    help: 'token workers must present',
    defaultText: 'none, open',
    fromFile: true,
  },
  adminToken: {
    env: 'JIT_ADMIN_TOKEN',
    arg: 'token',
    help: 'token for the admin routes',
    defaultText: 'none, open',
    fromFile: true,
  },
  readToken: {
    env: 'JIT_READ_TOKEN',
    arg: 'token',
    help: 'token for reads',
    defaultText: 'none, reads are open',
    fromFile: true,
  },
  rateLimitPerMinute: {
    env: 'JIT_RATE_LIMIT_PER_MINUTE',
    arg: 'n',
    help: 'requests per minute per client on registration and admin routes',
  },
  maxAcceptedMs: {
    env: 'JIT_MAX_ACCEPTED_MS',
    unit: 'ms',
    help: 'worker replies above this are rejected as implausible',
  },
  otlpHost: {
    env: 'JIT_OTLP_HOST',
    arg: 'host',
    help: 'interface the OTLP receiver listens on',
    defaultText: "the broker's --host",
  },
  otlpPort: {
    env: 'JIT_OTLP_PORT',
    arg: 'port',
    help: 'port of the OTLP/HTTP trace receiver, POST /v1/traces (0 = off)',
    // The library leaves the receiver off (tests never bind 4318); the command users run has it
    // on the port every exporter expects. broker-command.ts reads 0 as off.
    cliDefault: '4318',
  },
  otlpToken: {
    env: 'JIT_OTLP_TOKEN',
    arg: 'token',
    help: 'token OTLP exporters must send (Authorization: Bearer)',
    defaultText: 'none, open',
    fromFile: true,
  },
  otlpMaxBodyBytes: {
    env: 'JIT_OTLP_MAX_BODY_BYTES',
    arg: 'n',
    unit: 'bytes',
    help: 'largest OTLP export body as received',
  },
  otlpMaxDecompressedBytes: {
    env: 'JIT_OTLP_MAX_DECOMPRESSED_BYTES',
    arg: 'n',
    unit: 'bytes',
    help: 'largest OTLP export body once decompressed',
  },
  otlpMaxInFlight: {
    env: 'JIT_OTLP_MAX_IN_FLIGHT',
    arg: 'n',
    help: 'OTLP exports handled at once; more are answered 503 with Retry-After',
  },
  discoveryAllow: {
    env: 'JIT_DISCOVERY_ALLOW',
    arg: 'patterns',
    help: 'discover (from OTLP spans or workers with --discover) only endpoints matching one of these (comma-separated globs, * and ?, or /regex/)',
    defaultText: 'all',
  },
  discoveryDeny: {
    env: 'JIT_DISCOVERY_DENY',
    arg: 'patterns',
    help: 'never discover endpoints matching one of these (as --discovery-allow)',
    defaultText: 'none',
  },
  otlpAllow: {
    env: 'JIT_OTLP_ALLOW',
    arg: 'patterns',
    help: 'the earlier name of --discovery-allow (both apply)',
    defaultText: 'all',
  },
  otlpDeny: {
    env: 'JIT_OTLP_DENY',
    arg: 'patterns',
    help: 'the earlier name of --discovery-deny (both apply)',
    defaultText: 'none',
  },
  discoveryMaxAgeHours: {
    env: 'JIT_DISCOVERY_MAX_AGE_HOURS',
    arg: 'h',
    unit: 'hours',
    help: 'drop an endpoint workers reported (--discover) once none has for this long',
  },
  otlpNameTemplates: {
    env: 'JIT_OTLP_NAME_TEMPLATES',
    arg: 'json',
    help: 'endpoint-name templates per span kind, e.g. {"server":"{service.name} {http.route}"}',
    defaultText: 'the default rules',
  },
  otlpWindowLimit: {
    env: 'JIT_OTLP_WINDOW_LIMIT',
    arg: 'n',
    help: 'most recent spans kept per endpoint',
  },
  otlpWindowHours: {
    env: 'JIT_OTLP_WINDOW_HOURS',
    arg: 'h',
    unit: 'hours',
    help: 'spans older than this leave the windows (an endpoint without any is dropped)',
  },
};

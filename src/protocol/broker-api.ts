// The broker's messages (worker registration, heartbeat, and its JSON answers), declared once as zod schemas.
import { z } from 'zod';
import { percentilesSchema } from './worker-api.ts';

/**
 * What the broker takes and answers, declared once: registration is validated with these schemas
 * (`src/broker/routes-v1.ts`), the views the routes answer are typed by them (`z.infer`), the
 * OpenAPI document (`src/broker/openapi.ts`) is generated from them, and the dashboard's
 * type-checked JavaScript imports the types. The broker does not parse its own answers with
 * them: they document and type what the code builds, and the OpenAPI test checks real answers
 * against the generated document.
 */

/** An ISO 8601 UTC time, as every time in the API is written. */
const isoTime = (description: string) =>
  z.iso.datetime().meta({ description, example: '2026-12-02T14:55:53.000Z' });

// --- Worker registration (what workers send the broker) -------------------------------------

export const registerRequestSchema = z
  .object({
    url: z.string().meta({
      description:
        'http(s) URL the broker reaches the worker at, without credentials, query or fragment.',
      example: 'http://10.0.0.7:7000',
    }),
    concurrency: z.int().positive().max(1024).optional().meta({
      description: 'Jobs at once (1–1024); default: the broker’s --worker-concurrency.',
    }),
    maxJobMs: z.int().positive().max(3_600_000).optional().meta({
      description:
        "The worker's longest job (its strategy's time budget), ms: the broker waits that long (× the jobs of a batch) plus 5 s.",
    }),
    maxBatch: z.int().positive().max(1000).optional().meta({
      description: 'Jobs it takes in one call, POST /v1/compute/batch (1–1000; default 1).',
    }),
  })
  .strict()
  .meta({ description: 'A worker announcing itself.' });
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

export const registerReplySchema = z
  .object({
    id: z.string().meta({ description: 'Id the broker gave the worker.' }),
    url: z.string().meta({ description: 'Normalised URL.' }),
    leaseMs: z.int().meta({ description: 'Heartbeat within this (ms).', example: 30000 }),
  })
  .meta({ description: 'Registered (or renewed, for a URL already known: same id).' });
export type RegisterReply = z.infer<typeof registerReplySchema>;

export const heartbeatReplySchema = z
  .object({
    id: z.string(),
    leaseExpiresAt: isoTime('When the lease ends without another heartbeat.'),
  })
  .meta({ description: 'Lease renewed.' });
export type HeartbeatReply = z.infer<typeof heartbeatReplySchema>;

export const workerIdParamsSchema = z.object({
  id: z.string().meta({ description: 'Worker id.' }),
});

// --- Endpoints ----------------------------------------------------------------------------

export const endpointStatusSchema = z.enum(['fresh', 'stale', 'never']).meta({
  description:
    'fresh: last computation succeeded; stale: it failed, the old value is kept; never: no value yet.',
});

export const endpointParamsSchema = z.object({
  endpoint: z.string().meta({ description: 'Endpoint name (URL-encoded).', example: 'customer' }),
});

/** The per-endpoint settings an endpoint view shows (from the list file or the admin API). */
const endpointSettingsSchema = z
  .object({
    alpha: z.number().optional(),
    strategy: z.string().optional(),
    minMs: z.number().optional(),
    maxMs: z.number().optional(),
  })
  .meta({ description: 'Per-endpoint settings (list file or PUT); each overrides the broker’s.' });

export const endpointViewSchema = z
  .object({
    endpoint: z.string().meta({ description: 'Endpoint name.', example: 'customer' }),
    // A number, not an integer: a fractional clamp (minMs=50.5) is served as it is.
    timeoutMs: z.number().meta({
      description:
        'The timeout served now (ms): stored value with margin and clamps, or the default.',
      example: 221,
    }),
    hedgeMs: z.number().nullable().meta({
      description:
        'Hedge delay (ms) for clients that send backup requests (issue 19): the p95 of the window of the last successful computation, at most timeoutMs; null until computed, or when the worker reported no p95.',
      example: 160,
    }),
    storedMs: z
      .number()
      .nullable()
      .meta({ description: 'Value after spike damping (ms); null until computed.' }),
    status: endpointStatusSchema,
    strategy: z
      .string()
      .nullable()
      .meta({ description: 'Strategy of the last successful computation.' }),
    alpha: z.number().meta({ description: 'Target false-timeout rate.', example: 0.001 }),
    options: endpointSettingsSchema,
    method: z.string().nullable().meta({ description: 'How the strategy computed the value.' }),
    samples: z.int().nullable().meta({ description: 'Durations in the window.' }),
    meanMs: z.number().nullable().meta({ description: 'Window mean (ms).' }),
    sdMs: z.number().nullable().meta({ description: 'Window sample standard deviation (ms).' }),
    percentilesMs: percentilesSchema.nullable(),
    censored: z
      .int()
      .nullable()
      .meta({ description: 'Durations recognised as cut by the previous timeout.' }),
    state: z.record(z.string(), z.unknown()).nullable().meta({ description: 'Strategy state.' }),
    computedAt: isoTime('Last successful computation.').nullable(),
    attemptedAt: isoTime('Last attempt.').nullable(),
    lastError: z.string().nullable().meta({ description: 'Why the last attempt failed.' }),
    reason: z.string().meta({
      description:
        "Why the served timeout is what it is, in words: the strategy's part (quantile and level, window size), then what spike damping, the margin and clamps did; for a stale endpoint, that the last computation failed and the previous value's reason; the default's, before any value.",
      example: 'p99.9 of 3 420 calls = 4.9 s, +10 % margin = 5.4 s',
    }),
  })
  .meta({ description: 'One endpoint: what is served and how it was computed.' });
export type EndpointView = z.infer<typeof endpointViewSchema>;

export const endpointsReplySchema = z
  .object({ endpoints: z.array(endpointViewSchema) })
  .meta({ description: 'Every endpoint, in the list order.' });

/** `GET /getendpoints` (the original's route): the names that have a value. */
export const endpointNamesSchema = z
  .array(z.string())
  .meta({ description: 'Names.', example: ['customer', 'order'] });

export const historyQuerySchema = z.object({
  sinceMs: z
    .number()
    .optional()
    .meta({ description: 'Only points at or after this time (epoch ms). Default 0.' }),
  limit: z.int().min(1).max(100_000).optional().meta({
    description: 'At most this many of the most recent points (1–100000). Default 1000.',
  }),
});

export const historyPointSchema = z
  .object({
    at: isoTime('Time of the attempt.'),
    ok: z.boolean(),
    computedMs: z.number().nullable().meta({ description: "Worker's value before damping (ms)." }),
    storedMs: z.number().nullable().meta({ description: 'Stored value after the attempt (ms).' }),
    servedMs: z.number().nullable().meta({ description: 'Served value after the attempt (ms).' }),
    strategy: z.string().nullable(),
    samples: z.int().nullable(),
    percentilesMs: percentilesSchema.nullable(),
    error: z.string().nullable().meta({ description: 'Why the attempt failed.' }),
    reason: z.string().nullable().meta({
      description:
        "Why the served value after the attempt was what it was, in words (as the endpoint view's `reason`); null for points stored before reasons were kept.",
      example: 'p99.9 of 3 420 calls = 4.9 s, +10 % margin = 5.4 s',
    }),
  })
  .meta({ description: 'One computation of one endpoint.' });
export type HistoryPoint = z.infer<typeof historyPointSchema>;

export const historyReplySchema = z
  .object({ endpoint: z.string(), points: z.array(historyPointSchema) })
  .meta({ description: 'The computations kept, oldest first.' });

// --- Cycles, workers, health ----------------------------------------------------------------

export const cycleSummarySchema = z
  .object({
    cycle: z.int().meta({ description: 'Cycle number since start.' }),
    startedAt: isoTime('When the cycle started.'),
    durationMs: z.number(),
    endpoints: z.int().meta({ description: 'Endpoints in the list.' }),
    done: z.int().meta({ description: 'Endpoints computed.' }),
    failed: z
      .int()
      .meta({ description: 'Endpoints whose computation failed (they keep their value).' }),
    workersUsed: z.int(),
    skipped: z
      .string()
      .optional()
      .meta({ description: 'Why the cycle did no work, when it did none.' }),
  })
  .meta({ description: 'One finished cycle.' });
export type CycleSummary = z.infer<typeof cycleSummarySchema>;

export const cyclesReplySchema = z
  .object({
    cycles: z.array(cycleSummarySchema),
    nextCycleAt: isoTime('When the next cycle is due.').nullable(),
  })
  .meta({ description: 'The most recent cycles, oldest first.' });

export const workerViewSchema = z.object({
  id: z.string().meta({ description: 'Id the broker gave the worker.' }),
  url: z.string().meta({ description: 'URL the broker calls.' }),
  protocol: z
    .enum(['v1', 'legacy'])
    .meta({ description: 'v1: POST /v1/compute; legacy: GET /computetimeout.' }),
  concurrency: z.int().meta({ description: 'Jobs in flight at most.' }),
  maxJobMs: z
    .int()
    .nullable()
    .meta({ description: "The worker's longest job (its strategy's time budget), ms." }),
  maxBatch: z
    .int()
    .meta({ description: 'Jobs the worker takes in one call (1: one job per call).' }),
  registeredAt: isoTime('When it registered.'),
  lastHeartbeatAt: isoTime('Its last heartbeat.'),
  leaseExpiresAt: isoTime('When it is evicted without another heartbeat.'),
  jobsDone: z.int(),
  jobsFailed: z.int(),
  inFlight: z.int(),
  busy: z.boolean(),
});
export type WorkerView = z.infer<typeof workerViewSchema>;

export const workersReplySchema = z
  .object({ workers: z.array(workerViewSchema) })
  .meta({ description: 'The registered workers.' });

export const brokerHealthSchema = z
  .object({ status: z.literal('ok') })
  .meta({ description: 'The process answers.' });

export const brokerReadySchema = z.object({
  status: z.enum(['ready', 'not-ready']),
  endpoints: z.int(),
  workers: z.int(),
  lastCycle: cycleSummarySchema.nullable(),
  nextCycleAt: isoTime('When the next cycle is due.').nullable(),
});
export type BrokerReady = z.infer<typeof brokerReadySchema>;

/** `GET /gettimeout`'s query (the original's route). */
export const getTimeoutQuerySchema = z.object({
  url: z.string().meta({ description: 'Endpoint name.', example: 'customer' }),
});

// --- Span windows (what workers with source `otlp` read) -------------------------------------

export const windowQuerySchema = z.object({
  limit: z.int().min(1).max(1_000_000).optional().meta({
    description: 'At most this many of the most recent spans (1–1000000). Default 5000.',
  }),
  windowHours: z.number().positive().optional().meta({
    description: 'Only spans that started within this many hours. Default 48.',
  }),
});

export const windowReplySchema = z
  .object({
    endpoint: z.string().meta({ description: 'Endpoint name.', example: 'frontend GET /dispatch' }),
    durationsMs: z
      .array(z.number())
      .meta({ description: 'Span durations (ms), oldest first.', example: [12.5, 40, 18] }),
    timestampsMs: z.array(z.number()).meta({
      description: 'Start of each span (epoch ms), same order.',
      example: [1764687353000, 1764687354000, 1764687355000],
    }),
    failed: z.array(z.boolean()).meta({
      description: "Whether each span's status was ERROR, same order.",
      example: [false, true, false],
    }),
  })
  .meta({
    description:
      "An endpoint's span window as the OTLP receiver keeps it (empty for an endpoint without spans).",
  });
export type WindowReply = z.infer<typeof windowReplySchema>;

// --- Discovered endpoints (what workers with --discover report) ------------------------------

/** Most names one report may carry. */
export const MAX_DISCOVERED_NAMES = 10_000;

export const discoveredRequestSchema = z
  .object({
    source: z.string().min(1).max(64).meta({
      description: 'The source the names were found in (the worker’s --source).',
      example: 'influxdb',
    }),
    names: z
      .array(z.string().max(4096))
      .max(MAX_DISCOVERED_NAMES)
      .meta({
        description: `Endpoint names present in the source's window (at most ${MAX_DISCOVERED_NAMES}).`,
        example: ['orders GET /api/orders', 'orders POST /api/orders'],
      }),
  })
  .strict()
  .meta({ description: 'The endpoint names a worker found in its source’s data.' });
export type DiscoveredRequest = z.infer<typeof discoveredRequestSchema>;

export const discoveredReplySchema = z
  .object({
    admitted: z
      .int()
      .meta({ description: 'Names known now (listed before, or added by this report).' }),
    added: z
      .array(z.string())
      .meta({ description: 'Names this report added to the endpoint list.' }),
    refused: z
      .array(z.object({ name: z.string(), reason: z.string() }))
      .meta({ description: 'Names not added, each with why (the first 100).' }),
  })
  .meta({
    description:
      'What the broker made of a report: names pass the same admission as the OTLP receiver’s (--discovery-allow, --discovery-deny, --max-endpoints).',
  });
export type DiscoveredReply = z.infer<typeof discoveredReplySchema>;

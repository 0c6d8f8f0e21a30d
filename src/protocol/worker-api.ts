// The worker's messages (compute job, batch, their answers, error bodies, health), declared once as zod schemas.
import { z } from 'zod';
import { MAX_STRATEGY_REASON_CHARS } from '../core/serving.ts';

/**
 * Every message a worker takes or answers is declared here, once: the worker validates requests
 * with these schemas (`src/worker/app.ts`), the broker validates the worker's answers with them
 * (`src/broker/worker-client.ts`), the TypeScript types are `z.infer`red from them, and the
 * OpenAPI document (`src/worker/openapi.ts`) is generated from them (`z.toJSONSchema`). The
 * descriptions and examples given with `.meta()` are what `/docs` shows.
 */

/** The most strategy state a worker may hand back (the broker stores it with every endpoint). */
export const MAX_STATE_BYTES = 4096;

/** The error body of every failed request, broker and worker alike. */
export const errorDetailSchema = z
  .object({
    code: z.string().meta({
      description: 'Stable machine-readable code (src/core/errors.ts).',
      example: 'UNKNOWN_STRATEGY',
    }),
    message: z.string().meta({ description: 'What went wrong, for people.' }),
    details: z.record(z.string(), z.unknown()).optional().meta({
      description: 'Facts about the error (the parameter, the limit, the validation issues…).',
    }),
  })
  .meta({ description: 'What went wrong.' });

export const errorBodySchema = z
  .object({ error: errorDetailSchema })
  .meta({ description: 'Every error: a stable code (src/core/errors.ts) and a message.' });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** Window percentiles, keyed p50, p90, p95, p99, p999 and max (ms). */
export const percentilesSchema = z.record(z.string(), z.number()).meta({
  description:
    'Window percentiles (ms): p50, p90, p95, p99, p999, max (workers before issue 19 send no p95).',
  example: { p50: 120.4, p90: 210.9, p95: 260.3, p99: 388.2, p999: 530.1, max: 612.7 },
});

/** A strategy's opaque state, handed back with the endpoint's next job. */
export const strategyStateSchema = z
  .record(z.string(), z.unknown())
  .refine(
    (v) => JSON.stringify(v).length <= MAX_STATE_BYTES,
    `state larger than ${MAX_STATE_BYTES / 1024} KiB`,
  )
  .meta({
    description: `Strategy state (at most ${MAX_STATE_BYTES / 1024} KiB of JSON), opaque to the broker: it sends it back with the next job.`,
    example: { level: 0.9987 },
  });

/** What the broker remembers of an endpoint's last computation and sends with its next job. */
export const previousComputationSchema = z
  .object({
    servedMs: z.number().positive().meta({
      description: 'The timeout served since that computation (ms).',
      example: 221,
    }),
    computedAtMs: z.number().meta({
      description: 'When it was computed (epoch ms).',
      example: 1764680000000,
    }),
    state: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'The state the strategy answered last time.' }),
  })
  .meta({ description: "The endpoint's previous computation, as the broker remembers it." });

/** One job: `POST /v1/compute`'s body, and each item of a batch. */
export const computeJobSchema = z
  .object({
    endpoint: z.string().meta({ description: 'Endpoint name.', example: 'customer' }),
    alpha: z.number().gt(0).lt(1).optional().meta({
      description: "Target false-timeout rate; default: the worker's --alpha.",
      example: 0.001,
    }),
    strategy: z.string().min(1).max(64).optional().meta({
      description: "Strategy name; default: the worker's --strategy.",
      example: 'adaptive',
    }),
    previous: previousComputationSchema.optional(),
  })
  .meta({ description: "One endpoint's computation, as the broker asks for it." });
export type ComputeJob = z.infer<typeof computeJobSchema>;

/**
 * The worker's answer to one job. The broker needs only `timeoutMs`: the fields it reads besides
 * carry the defaults it reads when a worker leaves them out (the scripted and third-party
 * workers the tests use do), so one schema is both what our worker sends (`z.output`, every
 * field) and what the broker accepts (`computeReplySchema`).
 */
export const computeResultSchema = z
  .object({
    endpoint: z.string().meta({ description: 'Endpoint name.', example: 'customer' }),
    timeoutMs: z.number().positive().meta({
      description: 'Computed timeout (ms), before the broker damps it.',
      example: 4438.2,
    }),
    strategy: z
      .string()
      .max(64)
      .default('unknown')
      .meta({ description: 'Strategy that computed it.', example: 'adaptive' }),
    method: z.string().max(64).default('unknown').meta({
      description: 'How the strategy computed the value.',
      example: 'order-statistic',
    }),
    alpha: z.number().meta({ description: 'Target false-timeout rate used.', example: 0.001 }),
    source: z.string().meta({ description: 'Latency source, e.g. influxdb.', example: 'influxdb' }),
    samples: z.int().min(0).default(0).meta({ description: 'Durations in the window.' }),
    meanMs: z.number().default(0).meta({ description: 'Window mean (ms).' }),
    sdMs: z.number().default(0).meta({ description: 'Window sample standard deviation (ms).' }),
    percentilesMs: percentilesSchema.default({}),
    computeMs: z
      .number()
      .min(0)
      .default(0)
      .meta({ description: 'Time the computation took (ms).' }),
    censored: z.int().min(0).default(0).meta({
      description: 'Durations recognised as cut by the previous timeout (and imputed).',
    }),
    state: strategyStateSchema.optional(),
    reason: z
      .string()
      .max(MAX_STRATEGY_REASON_CHARS)
      .optional()
      .meta({
        description: `The strategy's reason for the value, in words (at most ${MAX_STRATEGY_REASON_CHARS} characters); the broker adds what damping, the margin and clamps did. Older workers send none.`,
        example: 'p99.9 of 3 420 calls = 4.9 s',
      }),
    placeholder: z.literal(true).optional().meta({
      description:
        'Present (true) when the value is a no-data placeholder: the broker damps nothing against it.',
    }),
  })
  .meta({ description: 'The computed timeout and the window it came from (durations in ms).' });
/** What our worker answers for one job. */
export type ComputeResult = z.output<typeof computeResultSchema>;

/**
 * A worker's answer as the broker accepts it: the fields echoing the job (`endpoint`, `alpha`,
 * `source`) are neither required nor kept (parsing strips them), so what is stored is exactly
 * the computation.
 */
export const computeReplySchema = computeResultSchema.omit({
  endpoint: true,
  alpha: true,
  source: true,
});
export type ComputeReply = z.output<typeof computeReplySchema>;

/** `POST /v1/compute/batch`'s body; `maxBatch` is the worker's `--max-batch`. */
export function batchRequestSchema(maxBatch?: number) {
  const jobs = z.array(computeJobSchema).min(1);
  return z
    .object({
      jobs: (maxBatch === undefined ? jobs : jobs.max(maxBatch)).meta({
        description: 'The jobs, at most --max-batch (announced at registration).',
      }),
    })
    .meta({ description: 'Several jobs in one call.' });
}
export type BatchRequest = z.infer<ReturnType<typeof batchRequestSchema>>;

/** A failed job's item in a batch answer: the status and error its own call would answer. */
export const batchFailureSchema = z
  .object({
    status: z.int().min(400).max(599).meta({
      description: 'The HTTP status its own call would answer.',
      example: 503,
    }),
    error: errorDetailSchema,
  })
  .meta({ description: 'The job failed: the status and error its own call would answer.' });
export type BatchFailure = z.infer<typeof batchFailureSchema>;

export const batchReplySchema = z
  .object({
    results: z
      .array(z.union([computeResultSchema, batchFailureSchema]))
      .meta({ description: 'One item per job, in order: its result, or `{status, error}`.' }),
  })
  .meta({ description: "Each job's result or failure, in the jobs' order." });
export type BatchReply = z.output<typeof batchReplySchema>;

/** `GET /computetimeout`'s query (the original's route). */
export const computeTimeoutQuerySchema = z.object({
  url: z.string().meta({ description: 'Endpoint name.', example: 'customer' }),
});

export const workerHealthSchema = z
  .object({
    status: z.literal('ok'),
    inFlight: z.int().min(0).meta({ description: 'Jobs being computed now.' }),
  })
  .meta({ description: 'The process answers.' });
export type WorkerHealth = z.infer<typeof workerHealthSchema>;

export const workerReadySchema = z.object({
  status: z.enum(['ready', 'not-ready']),
  source: z.string().meta({ description: 'Latency source name.', example: 'influxdb' }),
  error: z.string().optional().meta({ description: 'Why the source does not answer (503).' }),
});
export type WorkerReady = z.infer<typeof workerReadySchema>;

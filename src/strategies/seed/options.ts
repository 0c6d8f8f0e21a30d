// Options of strategy `seed`: every knob of the original's forecaster, two presets, one zod schema.
import { z } from 'zod';
import { parseConfig } from '../../core/config.ts';

/** The knobs a preset fixes; each can be overridden one by one. */
export interface SeedKnobs {
  /** ConvLSTM2D filters. Original 128. */
  filters: number;
  /** Most training epochs. Original 100. */
  epochs: number;
  /** Most recent durations the model trains on (the window's mean and sd use all of it). Original 5000. */
  maxSamples: number;
  /** Adam learning rate. Original 0.008. */
  learningRate: number;
  /** Mini-batch size. Original 32 (Keras' default). */
  batchSize: number;
  /** Epochs without improvement before training stops (0 = never stop early). Original 0. */
  patience: number;
  /** Improvement of the training loss, as a fraction, that counts for early stopping. Default 0.01. */
  minDelta: number;
  /** Whether the training pairs are reshuffled (seeded) at each epoch, as Keras does. Default true. */
  shuffle: boolean;
  /** Longest one computation may take, queueing included (ms); then the best model so far answers, or mean + k·sd. */
  budgetMs: number;
}

/** The presets: `original` is the original's forecaster; `default` trains an endpoint in seconds. */
export const SEED_PRESETS: Readonly<Record<'original' | 'default', Readonly<SeedKnobs>>> = {
  original: {
    filters: 128,
    epochs: 100,
    maxSamples: 5000,
    learningRate: 0.008,
    batchSize: 32,
    patience: 0,
    minDelta: 0.01,
    shuffle: true,
    // One epoch on 5000 samples takes minutes in pure-JS tfjs (BENCHMARKS.md "Forecaster");
    // 100 epochs do not fit any sane call timeout, so the budget decides how many run.
    budgetMs: 600_000,
  },
  default: {
    filters: 8,
    epochs: 20,
    maxSamples: 400,
    learningRate: 0.008,
    batchSize: 32,
    patience: 3,
    minDelta: 0.01,
    shuffle: true,
    budgetMs: 10_000,
  },
};

export const seedOptionsSchema = z
  .object({
    /** Which preset the other knobs default to: "original" or "default". Default "default". */
    preset: z.enum(['original', 'default']).default('default'),
    /** ConvLSTM2D filters. Default: the preset's (8; original 128). */
    filters: z.number().int().min(1).max(1024).optional(),
    /** Most training epochs. Default: the preset's (20; original 100). */
    epochs: z.number().int().min(1).max(100_000).optional(),
    /** Most recent durations trained on. Default: the preset's (400; original 5000). */
    maxSamples: z.number().int().min(17).max(1_000_000).optional(),
    /** Adam learning rate. Default 0.008 (the original's). */
    learningRate: z.number().finite().positive().max(10).optional(),
    /** Mini-batch size. Default 32 (Keras' default, which the original used). */
    batchSize: z.number().int().min(1).max(100_000).optional(),
    /** Early-stopping patience in epochs; 0 = off. Default: the preset's (3; original 0). */
    patience: z.number().int().min(0).optional(),
    /** Relative loss improvement that resets the patience. Default 0.01 (1 %). */
    minDelta: z.number().min(0).lt(1).optional(),
    /** Reshuffle the training pairs each epoch (seeded). Default true (as Keras). */
    shuffle: z.boolean().optional(),
    /** Time budget per computation, queueing included. Default: the preset's (10000; original 600000) (ms). */
    budgetMs: z.number().int().min(100).max(86_400_000).optional(),
    /** Random seed of the initial weights and the shuffling: same data + seed → same value. Default 42. */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
    /** Below this many durations the answer is mean + k·sd, without a model. Default 50 (the original's). */
    minSamples: z.number().int().min(17).default(50),
    /** Normalisation scale: z = (duration − mean) / scaleMs. Default 100 (ms, the original's). */
    scaleMs: z.number().finite().positive().default(100),
    /** k of the mean + k·sd fallback and of the negative-prediction rule. Default 2 (the original's). */
    k: z.number().finite().positive().default(2),
  })
  .strict();

export type SeedOptionsInput = z.input<typeof seedOptionsSchema>;

/** The options with the preset applied: every knob has a value. */
export type SeedOptions = SeedKnobs & {
  preset: 'original' | 'default';
  seed: number;
  minSamples: number;
  scaleMs: number;
  k: number;
};

/** Validates `input` (throws InvalidConfigError listing every problem) and applies the preset. */
export function resolveSeedOptions(input: Record<string, unknown> = {}): Readonly<SeedOptions> {
  const parsed = parseConfig(seedOptionsSchema, input);
  const preset = SEED_PRESETS[parsed.preset];
  const pick = <K extends keyof SeedKnobs>(key: K): SeedKnobs[K] =>
    (parsed[key] as SeedKnobs[K] | undefined) ?? preset[key];
  return Object.freeze({
    preset: parsed.preset,
    filters: pick('filters'),
    epochs: pick('epochs'),
    maxSamples: pick('maxSamples'),
    learningRate: pick('learningRate'),
    batchSize: pick('batchSize'),
    patience: pick('patience'),
    minDelta: pick('minDelta'),
    shuffle: pick('shuffle'),
    budgetMs: pick('budgetMs'),
    seed: parsed.seed,
    minSamples: parsed.minSamples,
    scaleMs: parsed.scaleMs,
    k: parsed.k,
  });
}

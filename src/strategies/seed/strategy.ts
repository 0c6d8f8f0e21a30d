// Strategy `seed`: the original's ConvLSTM forecast of the next duration, trained off the event loop.
import { readableCount, readableMs } from '../../core/serving.ts';
import { sampleSd } from '../../core/stats.ts';
import { refuseHistogram } from '../histogram.ts';
import { createSigmaStrategy } from '../sigma.ts';
import type { StrategyInput, StrategyResult, TimeoutStrategy } from '../types.ts';
import { resolveSeedOptions, type SeedOptions } from './options.ts';
import { acquireForecastPool } from './pool.ts';
import type { ForecastTaskResult } from './forecast-task.ts';
import { applyNegativeRule, denormalise, planForecast } from './steps.ts';
import { assertTfjsInstalled } from './tfjs.ts';

/** `method` of a value from the model. */
export const FORECAST_METHOD = 'forecast';
/** `method` of a mean + k·sd value (too few samples, no time, or training failed). */
export const FALLBACK_METHOD = 'fallback';

/** Why the answer is the fallback; in `state.reason`. */
export type FallbackReason = 'no-data' | 'few-samples' | 'budget' | 'diverged' | 'error';

export interface SeedStrategy extends TimeoutStrategy {
  readonly budgetMs: number;
  readonly options: Readonly<SeedOptions>;
  compute(input: StrategyInput): Promise<StrategyResult>;
  /** Releases this strategy's share of the training threads. */
  close(): Promise<void>;
}

/** Each fallback reason in words, for the value's reason. */
const FALLBACK_WORDS: Readonly<Record<FallbackReason, string>> = {
  'no-data': 'no durations, no forecast',
  'few-samples': 'too few calls to train the forecast',
  budget: 'the forecast ran out of time',
  diverged: 'the forecast diverged',
  error: 'the forecast failed',
};

/** Time kept back from training for the prediction and the reply: 10 % of the budget, 50 ms … 2 s. */
export function reserveMs(budgetMs: number): number {
  return Math.min(2000, Math.max(50, Math.round(budgetMs * 0.1)));
}

/**
 * Builds the strategy and starts the training threads. Throws MissingDependencyError (before any
 * thread starts) when @tensorflow/tfjs, an optional peer dependency, is not installed.
 */
export function createSeedStrategy(options: Record<string, unknown> = {}): SeedStrategy {
  const opts = resolveSeedOptions(options);
  assertTfjsInstalled();
  const sigma = createSigmaStrategy({ k: opts.k });
  const pool = acquireForecastPool();

  const fallback = (input: StrategyInput, reason: FallbackReason, extra = {}): StrategyResult => {
    const r = sigma.compute(input) as StrategyResult;
    return {
      timeoutMs: r.timeoutMs,
      method: FALLBACK_METHOD,
      state: { reason, ...extra },
      reason: `${FALLBACK_WORDS[reason]}: ${r.reason ?? readableMs(r.timeoutMs)}`,
      // sigma's no-data rule is a placeholder; carried on so that the broker does not damp against it.
      ...(r.placeholder === true ? { placeholder: true } : {}),
    };
  };

  return {
    name: 'seed',
    description: `the original's ConvLSTM forecast of the next duration (preset ${opts.preset}: ${opts.filters} filters, ≤ ${opts.epochs} epochs, ≤ ${opts.maxSamples} samples, ${opts.budgetMs} ms budget); mean + ${opts.k}·sd below ${opts.minSamples} samples`,
    budgetMs: opts.budgetMs,
    options: opts,

    async compute(input: StrategyInput): Promise<StrategyResult> {
      refuseHistogram('seed', input);
      const started = Date.now();
      const n = input.durationsMs.length;
      if (n === 0) return fallback(input, 'no-data');
      if (n < opts.minSamples) return fallback(input, 'few-samples');

      const plan = planForecast(input.durationsMs, opts);
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const overBudget = new Promise<'budget'>((resolve) => {
        timer = setTimeout(
          () => resolve('budget'),
          Math.max(0, started + opts.budgetMs - Date.now()),
        );
      });
      let result: ForecastTaskResult | 'budget';
      try {
        result = await Promise.race([
          pool.run(
            {
              sequence: plan.sequence,
              input: plan.input,
              model: opts,
              deadlineMs: started + opts.budgetMs - reserveMs(opts.budgetMs),
            },
            controller.signal,
          ),
          overBudget,
        ]);
      } catch (err) {
        return fallback(input, 'error', { error: String(err).slice(0, 200) });
      } finally {
        clearTimeout(timer);
      }
      if (result === 'budget') {
        controller.abort(); // the thread is stopped and replaced; the budget is a hard limit
        return fallback(input, 'budget', { epochs: 0 });
      }
      const diagnostics = {
        epochs: result.epochs,
        stoppedBy: result.stoppedBy,
        loss: result.loss,
        pairs: result.pairs,
        trainMs: Math.round(result.trainMs),
      };
      if (result.prediction === null) {
        return fallback(input, result.stoppedBy === 'budget' ? 'budget' : 'diverged', diagnostics);
      }
      const sd = sampleSd(input.durationsMs, plan.meanMs);
      const predicted = applyNegativeRule(
        denormalise(result.prediction, plan.meanMs, opts.scaleMs),
        plan.meanMs + opts.k * sd,
      );
      if (!Number.isFinite(predicted)) return fallback(input, 'diverged', diagnostics);
      return {
        timeoutMs: predicted,
        method: FORECAST_METHOD,
        state: diagnostics,
        reason:
          `ConvLSTM forecast of the next call from ${readableCount(n)} calls ` +
          `(${result.epochs} epochs) = ${readableMs(predicted)}`,
      };
    },

    close: () => pool.release(),
  };
}

// Forecaster benchmark (not part of npm test): seconds per endpoint for strategy `seed`.
// Usage: node --import tsx benchmarks/forecaster/run.ts [--original-epochs N] [--json OUT]
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readRecords } from '../../src/backtest/input.ts';
import { seedSampleDurationsMs } from '../../src/sources/seed-sample.ts';
import { installFastConv2DBackpropFilter } from '../../src/strategies/seed/conv-backprop-filter.ts';
import { trainForecaster } from '../../src/strategies/seed/model.ts';
import { resolveSeedOptions } from '../../src/strategies/seed/options.ts';
import { acquireForecastPool } from '../../src/strategies/seed/pool.ts';
import { planForecast, trainingPairs } from '../../src/strategies/seed/steps.ts';
import { createSeedStrategy } from '../../src/strategies/seed/strategy.ts';
import { median } from '../lib/cli.ts';

const { values: args } = parseArgs({
  options: {
    'original-epochs': { type: 'string', default: '2' },
    repeats: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const repeats = Number(args.repeats);
const originalEpochs = Number(args['original-epochs']);
const report: Record<string, unknown> = {
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  cores: availableParallelism(),
  cpu: cpus()[0]?.model,
  loadAverageAtStart: loadavg()[0],
};
const log = (msg: string) => process.stdout.write(`${msg}\n`);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// The filter gradient of the original's recurrent convolution (128 → 4·128 channels, kernel 1×2,
// a batch of 32 windows), with tfjs' own CPU kernel and then with ours. This thread's tfjs only.
{
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const x = tf.randomNormal<tf.Rank.R4>([32, 1, 3, 128], 0, 1, 'float32', 1);
  const f = tf.randomNormal<tf.Rank.R4>([1, 2, 128, 512], 0, 1, 'float32', 2);
  const grad = tf.grad((w) => tf.conv2d(x, w as tf.Tensor4D, 1, 'same').sum());
  const time = () => {
    const t0 = performance.now();
    tf.dispose(grad(f));
    return performance.now() - t0;
  };
  time(); // warm-up
  const stockMs = time();
  installFastConv2DBackpropFilter();
  time();
  const oursMs = time();
  report.filterGradientMs = { tfjs: stockMs, ours: oursMs };
  log(
    `filter gradient, 128 filters, batch 32: tfjs ${stockMs.toFixed(0)} ms, ours ${oursMs.toFixed(0)} ms`,
  );
}

// A 5000-value series: the most frequent Train-Ticket endpoint's last 5000 durations.
const nezha = await readRecords('data/nezha-trainticket/nezha-trainticket.csv');
const busiest = nezha.series.reduce((a, b) =>
  b.durationsMs.length > a.durationsMs.length ? b : a,
);
const series5000 = [...busiest.durationsMs.slice(-5000)];
const windows = { 'seed-sample (522)': [...seedSampleDurationsMs()], 'nezha (5000)': series5000 };
log(
  `5000-value series: ${busiest.endpoint}, last ${series5000.length} of ${busiest.durationsMs.length}`,
);

// Threads start when the first strategy is made; time until both have loaded tfjs.
let t = performance.now();
const pool = acquireForecastPool();
await pool.warmUp();
report.poolStartMs = performance.now() - t;
log(`pool of ${availableParallelism()} threads ready in ${s(report.poolStartMs as number)}`);

// Default preset, one endpoint at a time, as a worker with concurrency 1 runs them.
const strategy = createSeedStrategy();
const perEndpoint: Record<string, unknown> = {};
for (const [name, w] of Object.entries(windows)) {
  const times: number[] = [];
  let state: unknown;
  for (let i = 0; i < repeats; i++) {
    t = performance.now();
    const r = await strategy.compute({ endpoint: name, durationsMs: w, alpha: 0.001 });
    times.push(performance.now() - t);
    state = { method: r.method, timeoutMs: r.timeoutMs, ...r.state };
  }
  perEndpoint[name] = { medianMs: median(times), maxMs: Math.max(...times), times, last: state };
  log(
    `default preset, ${name}: median ${s(median(times))}, max ${s(Math.max(...times))} — ${JSON.stringify(state)}`,
  );
}
report.defaultPreset = { options: strategy.options, perEndpoint };

// Two endpoints at once: one per thread.
t = performance.now();
await Promise.all(
  Object.entries(windows).map(([name, w]) =>
    strategy.compute({ endpoint: name, durationsMs: w, alpha: 0.001 }),
  ),
);
report.twoAtOnceMs = performance.now() - t;
log(`default preset, both endpoints at once: ${s(report.twoAtOnceMs as number)}`);
await strategy.close();
await pool.release();

// Original preset: 128 filters on 5000 samples, one epoch at a time, in this thread.
const original = resolveSeedOptions({ preset: 'original' });
const plan = planForecast(series5000, original);
const pairs = trainingPairs(plan.sequence);
const epochMs: number[] = [];
let buildMs = 0;
await trainForecaster(pairs, { ...original, epochs: originalEpochs }, Number.POSITIVE_INFINITY, {
  onBuilt: (ms) => (buildMs = ms),
  onEpochEnd: (epoch, loss, ms) => {
    epochMs.push(ms);
    log(
      `original preset: epoch ${epoch} on ${pairs.count} pairs: ${s(ms)} (loss ${loss.toFixed(4)})`,
    );
  },
});
const steady = epochMs.length > 1 ? median(epochMs.slice(1)) : (epochMs[0] as number);
report.originalPreset = {
  pairs: pairs.count,
  buildMs,
  epochMs,
  projected100EpochsMs: buildMs + 100 * steady,
};
log(
  `original preset: model built in ${s(buildMs)}; 100 epochs ≈ ${((buildMs + 100 * steady) / 60_000).toFixed(1)} min`,
);
report.loadAverageAtEnd = loadavg()[0];
log(
  `load average: ${(report.loadAverageAtStart as number).toFixed(2)} at start, ${(report.loadAverageAtEnd as number).toFixed(2)} at end`,
);
if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);

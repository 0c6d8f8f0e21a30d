// `jit backtest`: replay recorded durations through strategies side by side (SPEC §3) and report.
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { formatReport } from '../backtest/report-text.ts';
import { renderHtml } from '../backtest/report-html.ts';
import { readRecords } from '../backtest/input.ts';
import { assertJudged, assertWritable } from '../backtest/checks.ts';
import { createProgress, type Progress } from '../backtest/progress.ts';
import { readFromSource } from '../backtest/input-source.ts';
import type { EndpointSeries } from '../backtest/replay.ts';
import { readEndpointList } from '../broker/endpoints-file.ts';
import { httpUrl, type CliOptionTable } from '../core/config.ts';
import { InvalidBodyError } from '../core/errors.ts';
import { DEFAULT_SERVING } from '../core/serving.ts';
import {
  BUILT_IN_STRATEGIES,
  DEFAULT_STRATEGY,
  NEURAL_STRATEGIES,
  strategyNameProblem,
} from '../strategies/names.ts';
import { addOptions, defined, parseWithFlags } from './options.ts';

export const backtestConfigSchema = z
  .object({
    input: z.string().min(1).optional(),
    influxUrl: httpUrl().optional(),
    influxDb: z.string().min(1).default('tracing'),
    influxToken: z.string().optional(),
    endpoints: z.string().min(1).optional(),
    rangeHours: z.number().positive().default(168),
    /** Strategies compared. Default: every built-in one but the neural (slow) ones. */
    strategies: z
      .array(z.string().min(1))
      .min(1)
      .default(() => BUILT_IN_STRATEGIES.filter((n) => !NEURAL_STRATEGIES.has(n))),
    alpha: z.number().gt(0).lt(1).default(0.001),
    recomputeS: z.number().positive().default(60),
    recomputeEvery: z.number().int().positive().optional(),
    windowHours: z.number().positive().default(48),
    windowLimit: z.number().int().positive().default(5000),
    warmupCount: z.number().int().min(1).default(50),
    minMs: z.number().min(0).default(0),
    maxMs: z.union([z.number().positive(), z.literal(Number.POSITIVE_INFINITY)]).default(Infinity),
    censor: z.boolean().default(false),
    strategyOptions: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    json: z.string().optional(),
    html: z.string().optional(),
    quiet: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.input === undefined) === (c.influxUrl === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['input'],
        message: 'give either --input FILE or --influx-url URL (with --endpoints)',
      });
    }
    if (c.influxUrl !== undefined && c.endpoints === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoints'],
        message: '--influx-url needs --endpoints (a file like endpoints.config)',
      });
    }
    for (const s of c.strategies) {
      const problem = strategyNameProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', path: ['strategies'], message: problem });
    }
  });

/** `jit backtest`'s options; their defaults come from backtestConfigSchema. */
const backtestCliOptions: CliOptionTable<z.input<typeof backtestConfigSchema>> = {
  input: {
    env: 'JIT_BACKTEST_INPUT',
    arg: 'file',
    help: 'CSV (timestamp_ns,endpoint,duration_ns) or JSON lines',
    defaultText: 'none',
  },
  influxUrl: {
    env: 'JIT_BACKTEST_INFLUX_URL',
    arg: 'url',
    help: 'read the input from InfluxDB instead of a file',
    defaultText: 'none',
    url: true,
  },
  influxDb: { env: 'JIT_INFLUX_DB', arg: 'name', help: 'InfluxDB database, with --influx-url' },
  influxToken: {
    env: 'JIT_INFLUX_TOKEN',
    arg: 'token',
    help: 'InfluxDB 2.x/3.x token, with --influx-url',
    defaultText: 'none',
  },
  endpoints: {
    env: 'JIT_BACKTEST_ENDPOINTS',
    arg: 'file',
    help: 'endpoint list to read from InfluxDB, one per line',
    defaultText: 'none',
  },
  rangeHours: {
    env: 'JIT_BACKTEST_RANGE_HOURS',
    arg: 'h',
    unit: 'hours',
    help: 'with --influx-url: how far back to read',
  },
  strategies: {
    env: 'JIT_BACKTEST_STRATEGIES',
    arg: 'list',
    help: 'comma-separated strategies (the default: every non-neural one)',
  },
  alpha: { env: 'JIT_ALPHA', arg: 'rate', help: 'target false-timeout rate (0..1)' },
  recomputeS: {
    env: 'JIT_BACKTEST_RECOMPUTE_S',
    arg: 's',
    help: 'recompute every this many seconds of trace time',
  },
  recomputeEvery: {
    env: 'JIT_BACKTEST_RECOMPUTE_EVERY',
    arg: 'n',
    help: 'recompute every n requests instead',
    defaultText: 'by time; used when there are no timestamps: 100',
  },
  windowHours: {
    env: 'JIT_WINDOW_HOURS',
    arg: 'h',
    unit: 'hours',
    help: 'window: the last this many hours',
  },
  windowLimit: {
    env: 'JIT_WINDOW_LIMIT',
    arg: 'n',
    help: 'window: at most this many most recent durations',
  },
  warmupCount: {
    flag: '--warmup',
    env: 'JIT_BACKTEST_WARMUP',
    arg: 'n',
    help: 'judge requests from the first recompute with this many in its window',
  },
  minMs: { env: 'JIT_MIN_MS', unit: 'ms', help: 'lower clamp on served timeouts' },
  maxMs: { env: 'JIT_MAX_MS', unit: 'ms', help: 'upper clamp on served timeouts' },
  censor: {
    env: 'JIT_BACKTEST_CENSOR',
    help: 'simulate deployment: cut requests are recorded at the timeout; the variable takes 1/true/yes/on or 0/false/no/off',
    defaultText: 'off',
  },
  strategyOptions: {
    env: 'JIT_BACKTEST_STRATEGY_OPTIONS',
    arg: 'json',
    help: 'per-strategy options, e.g. {"adaptive":{"maxOverMaxFactor":1.5}}',
    defaultText: 'none',
  },
  json: {
    env: 'JIT_BACKTEST_JSON',
    arg: 'file',
    help: 'write the JSON report here',
    defaultText: 'none',
  },
  html: {
    env: 'JIT_BACKTEST_HTML',
    arg: 'file',
    help: 'write the HTML report with charts here',
    defaultText: 'none',
  },
  quiet: {
    env: 'JIT_BACKTEST_QUIET',
    help: 'no tables on standard output and no progress; the variable takes 1/true/yes/on or 0/false/no/off',
    defaultText: 'off',
  },
};

/** Says on stderr which input lines could not be read. */
function reportSkipped(
  progress: Progress,
  skippedCount: number,
  skipped: { line: number; reason: string }[],
): void {
  if (skippedCount === 0) return;
  progress.note(
    `jit backtest: skipped ${skippedCount} unreadable lines (${skipped
      .map((x) => `line ${x.line}: ${x.reason}`)
      .slice(0, 3)
      .join('; ')})`,
  );
}

export function backtestCommand(): Command {
  const cmd: Command = new Command('backtest')
    .description(
      'replay recorded durations through strategies side by side and report false timeouts and cost',
    )
    .action(async () => {
      const { values, problems } = options.read(cmd);
      const config = parseWithFlags(backtestConfigSchema, values, problems, options.flags);
      // Loaded only now: building the command (and --help) must not load the strategies (piscina…).
      const { runBacktest } = await import('../backtest/run.ts');
      const started = performance.now();
      // Before any work: a bad report path fails now, not after the run (readRecords checks the
      // input file before it reads it).
      if (config.json !== undefined) assertWritable(config.json, '--json');
      if (config.html !== undefined) assertWritable(config.html, '--html');
      const progress = createProgress({ quiet: config.quiet });
      let series: EndpointSeries[];
      let records: number;
      if (config.input !== undefined) {
        const file = config.input;
        const read = await readRecords(file, (b, total) =>
          progress.update(b, total, `reading ${file}`),
        ).catch((err: unknown) => {
          progress.finish(); // ends the bar's line before the error is printed
          throw err;
        });
        ({ series, records } = read);
        reportSkipped(progress, read.skippedCount, read.skipped);
      } else {
        ({ series, records } = await readFromSource({
          source: 'influxdb',
          sourceOptions: defined({
            url: config.influxUrl,
            database: config.influxDb,
            token: config.influxToken,
          }),
          endpoints: (await readEndpointList(config.endpoints as string)).names,
          rangeHours: config.rangeHours,
          limit: 10_000_000,
        }));
      }
      if (records === 0) throw new InvalidBodyError('no records to replay');
      const { report, charts } = await runBacktest(
        series,
        {
          alpha: config.alpha,
          recomputeMs: config.recomputeS * 1000,
          recomputeEvery: config.recomputeEvery,
          windowHours: config.windowHours,
          windowLimit: config.windowLimit,
          warmupCount: config.warmupCount,
          serving: { ...DEFAULT_SERVING, minMs: config.minMs, maxMs: config.maxMs },
          censor: config.censor,
          strategies: config.strategies,
          strategyOptions: config.strategyOptions,
          defaultStrategy: DEFAULT_STRATEGY,
        },
        (done, total, endpoint) =>
          progress.update(done, total, `replaying ${JSON.stringify(endpoint)}`),
      ).finally(() => progress.finish());
      assertJudged(report, series);
      if (!config.quiet) process.stdout.write(`${formatReport(report)}\n`);
      // JSON has no Infinity: an unclamped maximum is written as null.
      if (config.json)
        writeFileSync(
          config.json,
          `${JSON.stringify(report, (_k, v: unknown) => (v === Infinity ? null : v), 2)}\n`,
        );
      if (config.html) writeFileSync(config.html, renderHtml(report, charts));
      process.stderr.write(
        `jit backtest: ${records} records, ${series.length} endpoints, ${config.strategies.length} strategies in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });
  // Added after the action, which reads them only when it runs.
  const options = addOptions(cmd, backtestConfigSchema, backtestCliOptions);
  return cmd;
}

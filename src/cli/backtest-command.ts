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
import { runBacktest } from '../backtest/run.ts';
import { parseConfig } from '../core/config.ts';
import { InvalidBodyError } from '../core/errors.ts';
import { DEFAULT_SERVING } from '../core/serving.ts';
import {
  DEFAULT_STRATEGY,
  comparableStrategyNames,
  strategyNames,
} from '../strategies/registry.ts';
import { defined, num, opt, withFlagNames } from './options.ts';

export const backtestConfigSchema = z
  .object({
    input: z.string().min(1).optional(),
    influxUrl: z.url().optional(),
    influxDb: z.string().min(1).default('tracing'),
    influxToken: z.string().optional(),
    endpoints: z.string().min(1).optional(),
    rangeHours: z.number().positive().default(168),
    strategies: z.array(z.string().min(1)).min(1),
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
    const known = strategyNames();
    for (const s of c.strategies) {
      if (!known.includes(s)) {
        ctx.addIssue({
          code: 'custom',
          path: ['strategies'],
          message: `unknown strategy "${s}" (known: ${known.join(', ')})`,
        });
      }
    }
  });

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
  return new Command('backtest')
    .description(
      'replay recorded durations through strategies side by side and report false timeouts and cost',
    )
    .addOption(
      opt(
        '--input <file>',
        'CSV (timestamp_ns,endpoint,duration_ns) or JSON lines',
        'JIT_BACKTEST_INPUT',
      ),
    )
    .addOption(
      opt(
        '--influx-url <url>',
        'read the input from InfluxDB instead of a file (default: none)',
        'JIT_BACKTEST_INFLUX_URL',
      ),
    )
    .addOption(
      opt('--influx-db <name>', 'InfluxDB database, with --influx-url', 'JIT_INFLUX_DB', 'tracing'),
    )
    .addOption(
      opt(
        '--influx-token <token>',
        'InfluxDB 2.x/3.x token, with --influx-url (default: none)',
        'JIT_INFLUX_TOKEN',
      ),
    )
    .addOption(
      opt(
        '--endpoints <file>',
        'endpoint list to read from InfluxDB, one per line (default: none)',
        'JIT_BACKTEST_ENDPOINTS',
      ),
    )
    .addOption(
      opt(
        '--range-hours <h>',
        'with --influx-url: how far back to read, in hours',
        'JIT_BACKTEST_RANGE_HOURS',
        '168',
      ),
    )
    .addOption(
      opt(
        '--strategies <list>',
        `comma-separated strategies [default: every non-neural one: ${comparableStrategyNames().join(',')}]`,
        'JIT_BACKTEST_STRATEGIES',
      ),
    )
    .addOption(opt('--alpha <rate>', 'target false-timeout rate (0..1)', 'JIT_ALPHA', '0.001'))
    .addOption(
      opt(
        '--recompute-s <s>',
        'recompute every this many seconds of trace time',
        'JIT_BACKTEST_RECOMPUTE_S',
        '60',
      ),
    )
    .addOption(
      opt(
        '--recompute-every <n>',
        'recompute every n requests instead (default: by time; used when there are no timestamps: 100)',
        'JIT_BACKTEST_RECOMPUTE_EVERY',
      ),
    )
    .addOption(
      opt(
        '--window-hours <h>',
        'window: the last this many hours, in hours',
        'JIT_WINDOW_HOURS',
        '48',
      ),
    )
    .addOption(
      opt(
        '--window-limit <n>',
        'window: at most this many most recent durations',
        'JIT_WINDOW_LIMIT',
        '5000',
      ),
    )
    .addOption(
      opt(
        '--warmup <n>',
        'judge requests from the first recompute with this many in its window',
        'JIT_BACKTEST_WARMUP',
        '50',
      ),
    )
    .addOption(opt('--min-ms <ms>', 'lower clamp on served timeouts, in ms', 'JIT_MIN_MS', '0'))
    .addOption(
      opt('--max-ms <ms>', 'upper clamp on served timeouts, in ms', 'JIT_MAX_MS', 'Infinity'),
    )
    .addOption(
      opt(
        '--censor',
        'simulate deployment: cut requests are recorded at the timeout (default: off)',
        'JIT_BACKTEST_CENSOR',
      ),
    )
    .addOption(
      opt(
        '--strategy-options <json>',
        'per-strategy options, e.g. {"adaptive":{"gamma":0.01}} (default: none)',
        'JIT_BACKTEST_STRATEGY_OPTIONS',
      ),
    )
    .addOption(
      opt('--json <file>', 'write the JSON report here (default: none)', 'JIT_BACKTEST_JSON'),
    )
    .addOption(
      opt(
        '--html <file>',
        'write the HTML report with charts here (default: none)',
        'JIT_BACKTEST_HTML',
      ),
    )
    .addOption(opt('--quiet', 'no tables on standard output (default: off)', 'JIT_BACKTEST_QUIET'))
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const s = (k: string) => (typeof o[k] === 'string' ? o[k] : undefined);
      let strategyOptions: unknown;
      try {
        strategyOptions = s('strategyOptions')
          ? JSON.parse(s('strategyOptions') as string)
          : undefined;
      } catch {
        strategyOptions = 'not JSON';
      }
      const config = withFlagNames(
        () =>
          parseConfig(
            backtestConfigSchema,
            defined({
              input: s('input'),
              influxUrl: s('influxUrl'),
              influxDb: s('influxDb'),
              influxToken: s('influxToken'),
              endpoints: s('endpoints'),
              rangeHours: num(o.rangeHours),
              strategies:
                s('strategies')
                  ?.split(',')
                  .map((x) => x.trim())
                  .filter(Boolean) ?? comparableStrategyNames(),
              alpha: num(o.alpha),
              recomputeS: num(o.recomputeS),
              recomputeEvery: num(o.recomputeEvery),
              windowHours: num(o.windowHours),
              windowLimit: num(o.windowLimit),
              warmupCount: num(o.warmup),
              minMs: num(o.minMs),
              maxMs: num(o.maxMs),
              censor: o.censor === true || o.censor === 'true' || o.censor === '1',
              strategyOptions,
              json: s('json'),
              html: s('html'),
              quiet: o.quiet === true,
            }),
          ),
        { warmupCount: '--warmup' },
      );
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
}

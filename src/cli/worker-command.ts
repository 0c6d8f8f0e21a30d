// `jit worker`: run a worker that reads latency from a source and computes timeouts for the broker.
import { Command } from 'commander';
import { cliLoggerOptions } from '../core/logger.ts';
import { closeOnSignals } from '../core/process.ts';
import { InvalidConfigError, UnknownStrategyError } from '../core/errors.ts';
import { createSource, sourceNames } from '../sources/registry.ts';
import type { LatencySource } from '../sources/types.ts';
import { DEFAULT_STRATEGY, createStrategy, strategyNames } from '../strategies/registry.ts';
import { workerConfig } from '../worker/config.ts';
import { startWorker } from '../worker/run.ts';
import { bool, defined, num, opt, tokenFrom, tokenOptions, withFlagNames } from './options.ts';

/** The original's BROKER_IP / INFLUX_IP, turned into URLs on the original's fixed ports. */
function legacyUrl(envName: string, port: number): string | undefined {
  const ip = process.env[envName];
  return ip
    ? `http://${ip.includes(':') && !ip.startsWith('[') ? `[${ip}]` : ip}:${port}`
    : undefined;
}

/** `--strategy-options` JSON merged with `--sigma-k`; text that is not JSON is left for zod to report. */
function strategyOptionsFrom(json: string | undefined, sigmaK: number | undefined): unknown {
  let parsed: unknown = {};
  if (json !== undefined) {
    try {
      parsed = JSON.parse(json);
    } catch {
      return `not JSON: ${json.slice(0, 40)}`;
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return parsed;
  const all = parsed as Record<string, Record<string, unknown>>;
  return { ...all, sigma: { k: sigmaK, ...(all.sigma ?? {}) } };
}

export function workerCommand(): Command {
  const [workerToken, workerTokenFile] = tokenOptions(
    'worker',
    'token the broker asks of workers (default: none)',
  );
  return new Command('worker')
    .description('run a worker: registers with the broker and computes timeouts on request')
    .addOption(
      opt(
        '--host <host>',
        'interface to listen on (0.0.0.0 for all)',
        'JIT_WORKER_HOST',
        '127.0.0.1',
      ),
    )
    .addOption(
      opt('--port <port>', 'port to listen on (0 = any free port)', 'JIT_WORKER_PORT', '7000'),
    )
    .addOption(
      opt(
        '--broker <url>',
        'broker base URL [default: http://$BROKER_IP:5000, else http://127.0.0.1:5000]',
        'JIT_BROKER_URL',
      ),
    )
    .addOption(
      opt(
        '--advertise-url <url>',
        'URL the broker reaches this worker at [default: http://<host>:<port>]',
        'JIT_ADVERTISE_URL',
      ),
    )
    .addOption(
      opt(
        '--no-register',
        'do not register with a broker (stand-alone worker) (default: registers)',
        'JIT_NO_REGISTER',
      ),
    )
    .addOption(workerToken)
    .addOption(workerTokenFile)
    .addOption(opt('--heartbeat-ms <ms>', 'heartbeat period, in ms', 'JIT_HEARTBEAT_MS', '10000'))
    .addOption(
      opt(
        '--concurrency <n>',
        'jobs this worker takes at once (announced to the broker)',
        'JIT_WORKER_CONCURRENCY',
        '1',
      ),
    )
    .addOption(
      opt(
        '--max-batch <n>',
        'jobs this worker takes in one call, POST /v1/compute/batch (announced to the broker)',
        'JIT_MAX_BATCH',
        '64',
      ),
    )
    .addOption(
      opt(
        '--source <name>',
        `latency source: ${sourceNames().join('|')} [default: influxdb when an InfluxDB URL is set, else seed-sample]`,
        'JIT_SOURCE',
      ),
    )
    .addOption(
      opt(
        '--strategy <name>',
        `default strategy: ${strategyNames().join('|')}`,
        'JIT_STRATEGY',
        DEFAULT_STRATEGY,
      ),
    )
    .addOption(opt('--sigma-k <k>', 'k of the sigma strategy (mean + k·sd)', 'JIT_SIGMA_K', '2'))
    .addOption(
      opt(
        '--strategy-options <json>',
        'options per strategy, e.g. {"adaptive":{"gamma":0.01}} (default: none)',
        'JIT_STRATEGY_OPTIONS',
      ),
    )
    .addOption(
      opt(
        '--alpha <rate>',
        'target false-timeout rate when a job names none (0..1)',
        'JIT_ALPHA',
        '0.001',
      ),
    )
    .addOption(
      opt(
        '--window-hours <h>',
        'how far back the window reaches, in hours',
        'JIT_WINDOW_HOURS',
        '48',
      ),
    )
    .addOption(
      opt(
        '--window-limit <n>',
        'most recent durations kept per window',
        'JIT_WINDOW_LIMIT',
        '5000',
      ),
    )
    .addOption(
      opt(
        '--influx-url <url>',
        'InfluxDB base URL [default: http://$INFLUX_IP:8086, else http://127.0.0.1:8086]',
        'JIT_INFLUX_URL',
      ),
    )
    .addOption(
      opt(
        '--influx-db <name>',
        'InfluxDB database (or DBRP-mapped bucket)',
        'JIT_INFLUX_DB',
        'tracing',
      ),
    )
    .addOption(
      opt(
        '--influx-measurement <name>',
        'measurement holding the spans',
        'JIT_INFLUX_MEASUREMENT',
        'span',
      ),
    )
    .addOption(
      opt(
        '--influx-field <name>',
        'field holding the span duration',
        'JIT_INFLUX_FIELD',
        'duration',
      ),
    )
    .addOption(
      opt(
        '--influx-tag <name>',
        'tag matched against the endpoint name',
        'JIT_INFLUX_TAG',
        'http.url',
      ),
    )
    .addOption(
      opt(
        '--influx-duration-unit <unit>',
        'unit of the duration field: ns|us|ms|s',
        'JIT_INFLUX_DURATION_UNIT',
        'ns',
      ),
    )
    .addOption(
      opt(
        '--influx-match <mode>',
        'contains (the original) | exact',
        'JIT_INFLUX_MATCH',
        'contains',
      ),
    )
    .addOption(opt('--influx-user <user>', 'InfluxDB 1.x user', 'JIT_INFLUX_USER', 'root'))
    .addOption(
      opt('--influx-password <password>', 'InfluxDB 1.x password', 'JIT_INFLUX_PASSWORD', 'root'),
    )
    .addOption(
      opt(
        '--influx-token <token>',
        'InfluxDB 2.x/3.x API token (v1 compatibility API) (default: none, user/password)',
        'JIT_INFLUX_TOKEN',
      ),
    )
    .addOption(
      opt('--influx-timeout-ms <ms>', 'per-query timeout, in ms', 'JIT_INFLUX_TIMEOUT_MS', '10000'),
    )
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const s = (k: string) => (typeof o[k] === 'string' ? o[k] : undefined);
      const influxUrl = s('influxUrl') ?? legacyUrl('INFLUX_IP', 8086);
      const { config, source } = withFlagNames(
        () => {
          const config = workerConfig(
            defined({
              host: s('host'),
              port: num(o.port),
              brokerUrl: s('broker') ?? legacyUrl('BROKER_IP', 5000),
              advertiseUrl: s('advertiseUrl'),
              register: bool(o.register),
              heartbeatMs: num(o.heartbeatMs),
              workerToken: tokenFrom('worker', s('workerToken'), s('workerTokenFile')),
              concurrency: num(o.concurrency),
              maxBatch: num(o.maxBatch),
              source: s('source') ?? (influxUrl ? 'influxdb' : 'seed-sample'),
              strategy: s('strategy'),
              alpha: num(o.alpha),
              windowHours: num(o.windowHours),
              windowLimit: num(o.windowLimit),
              // Validated by the schema like every other option (a non-object is reported there).
              strategyOptions: strategyOptionsFrom(s('strategyOptions'), num(o.sigmaK)) as Record<
                string,
                Record<string, unknown>
              >,
              sourceOptions: defined({
                url: influxUrl,
                database: s('influxDb'),
                measurement: s('influxMeasurement'),
                field: s('influxField'),
                tag: s('influxTag'),
                durationUnit: s('influxDurationUnit'),
                matchMode: s('influxMatch'),
                username: s('influxUser'),
                password: s('influxPassword'),
                token: s('influxToken'),
                requestTimeoutMs: num(o.influxTimeoutMs),
              }),
            }),
          );
          // Source and strategy are built here too, so that every bad option is reported at once,
          // with its flag, before start-up.
          const problems: string[] = [];
          let source: LatencySource | undefined;
          try {
            source = createSource(config.source, { ...config.sourceOptions });
          } catch (err) {
            if (!(err instanceof InvalidConfigError)) throw err;
            problems.push(...err.problems);
          }
          for (const [name, options] of Object.entries(config.strategyOptions)) {
            try {
              createStrategy(name, { ...options });
            } catch (err) {
              if (!(err instanceof InvalidConfigError)) throw err;
              problems.push(...err.problems.map((p) => `strategyOptions.${name}.${p}`));
            }
          }
          try {
            createStrategy(config.strategy, config.strategyOptions[config.strategy]);
          } catch (err) {
            if (err instanceof UnknownStrategyError) problems.push(`strategy: ${err.message}`);
            else if (!(err instanceof InvalidConfigError)) throw err;
          }
          if (problems.length > 0 || !source) throw new InvalidConfigError(problems);
          return { config, source };
        },
        {
          brokerUrl: '--broker',
          windowLimit: '--window-limit',
          url: '--influx-url',
          database: '--influx-db',
          measurement: '--influx-measurement',
          field: '--influx-field',
          tag: '--influx-tag',
          matchMode: '--influx-match',
          durationUnit: '--influx-duration-unit',
          requestTimeoutMs: '--influx-timeout-ms',
          'strategyOptions.sigma.k': '--sigma-k',
        },
      );
      const worker = await startWorker(config, {
        source,
        // Every line names the worker: the URL the broker knows it by.
        logger: cliLoggerOptions({
          name: `worker ${config.advertiseUrl ?? `http://${config.host}:${config.port}`}`,
        }),
      });
      if (config.source === 'seed-sample') {
        worker.app.log.warn(
          'source is seed-sample: every endpoint gets the same 522 sample durations (no InfluxDB configured)',
        );
      }
      closeOnSignals(() => worker.close(), worker.app.log);
    });
}

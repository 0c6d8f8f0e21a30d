// `jit worker`: run a worker that reads latency from a source and computes timeouts for the broker.
import { Command } from 'commander';
import type { CliOptionTable } from '../core/config.ts';
import { InvalidConfigError } from '../core/errors.ts';
import type { LatencySource } from '../sources/types.ts';
import { influxOptionsSchema } from '../sources/influxdb.ts';
import { prometheusCliOptions, prometheusOptionsSchema } from '../sources/prometheus-options.ts';
import { sigmaOptionsSchema } from '../strategies/sigma.ts';
import {
  sourceOptionsOf,
  workerCliOptions,
  workerConfigSchema,
  type WorkerConfig,
} from '../worker/config.ts';
import { addOptions, nameFlag, parseWithFlags, type OptionSet } from './options.ts';

/** The InfluxDB source's options on the command line (their defaults: influxOptionsSchema). */
export const influxCliOptions: CliOptionTable<(typeof influxOptionsSchema)['_zod']['input']> = {
  url: {
    flag: '--influx-url',
    env: 'JIT_INFLUX_URL',
    arg: 'url',
    help: 'InfluxDB base URL (with $INFLUX_IP set and no flag: http://$INFLUX_IP:8086)',
    url: true,
  },
  database: {
    flag: '--influx-db',
    env: 'JIT_INFLUX_DB',
    arg: 'name',
    help: 'InfluxDB database (or DBRP-mapped bucket)',
  },
  schema: {
    flag: '--influx-schema',
    env: 'JIT_INFLUX_SCHEMA',
    arg: 'name',
    help: "who wrote the spans: jaeger (Jaeger's InfluxDB plugin) | otel (otel2influx: Collector exporter, Telegraf) | otel-2022 (otel2influx before 2022-10); sets the defaults of the --influx-* options below",
  },
  measurement: {
    flag: '--influx-measurement',
    env: 'JIT_INFLUX_MEASUREMENT',
    arg: 'name',
    help: 'measurement holding the spans',
    defaultText: 'span (jaeger), spans (otel)',
  },
  field: {
    flag: '--influx-field',
    env: 'JIT_INFLUX_FIELD',
    arg: 'name',
    help: 'field holding the span duration',
    defaultText: 'duration (jaeger), duration_nano (otel)',
  },
  tag: {
    flag: '--influx-tag',
    env: 'JIT_INFLUX_TAG',
    arg: 'name',
    help: 'jaeger: tag matched against the endpoint name',
    defaultText: 'http.url',
  },
  tagPrefix: {
    flag: '--influx-tag-prefix',
    env: 'JIT_INFLUX_TAG_PREFIX',
    arg: 'prefix',
    help: "jaeger: type prefix of the tag's values, added by --influx-match exact ('' for none)",
    defaultText: 's:',
  },
  durationUnit: {
    flag: '--influx-duration-unit',
    env: 'JIT_INFLUX_DURATION_UNIT',
    arg: 'unit',
    help: 'unit of the duration field: ns|us|ms|s',
    defaultText: 'ns',
  },
  matchMode: {
    flag: '--influx-match',
    env: 'JIT_INFLUX_MATCH',
    arg: 'mode',
    help: 'jaeger: contains (the original) | exact',
    defaultText: 'contains',
  },
  naming: {
    flag: '--influx-naming',
    env: 'JIT_INFLUX_NAMING',
    arg: 'naming',
    help: 'otel: endpoint names "<service.name> <span name>" (span) or "<service.name> <http.route>" (route)',
    defaultText: 'span',
  },
  serviceKey: {
    flag: '--influx-service-key',
    env: 'JIT_INFLUX_SERVICE_KEY',
    arg: 'tag',
    help: 'otel: tag naming the service',
    defaultText: 'service.name',
  },
  nameKey: {
    flag: '--influx-name-key',
    env: 'JIT_INFLUX_NAME_KEY',
    arg: 'key',
    help: 'otel: key naming the endpoint within its service',
    defaultText: 'span.name (naming span), http.route (naming route)',
  },
  attributesField: {
    flag: '--influx-attributes-field',
    env: 'JIT_INFLUX_ATTRIBUTES_FIELD',
    arg: 'field',
    help: 'otel: JSON string field that packs the attributes (the route among them)',
    defaultText: 'attributes (otel, naming route), none (otel-2022)',
  },
  username: {
    flag: '--influx-user',
    env: 'JIT_INFLUX_USER',
    arg: 'user',
    help: 'InfluxDB 1.x user',
  },
  password: {
    flag: '--influx-password',
    env: 'JIT_INFLUX_PASSWORD',
    arg: 'password',
    help: 'InfluxDB 1.x password',
  },
  token: {
    flag: '--influx-token',
    env: 'JIT_INFLUX_TOKEN',
    arg: 'token',
    help: 'InfluxDB 2.x/3.x API token (v1 compatibility API)',
    defaultText: 'none, user/password',
  },
  requestTimeoutMs: {
    flag: '--influx-timeout-ms',
    env: 'JIT_INFLUX_TIMEOUT_MS',
    unit: 'ms',
    help: 'per-query timeout',
  },
};

/** The sigma strategy's k on the command line (default: sigmaOptionsSchema). */
const sigmaCliOptions: CliOptionTable<(typeof sigmaOptionsSchema)['_zod']['input']> = {
  k: {
    flag: '--sigma-k',
    env: 'JIT_SIGMA_K',
    arg: 'k',
    help: 'k of the sigma strategy (mean + k·sd)',
  },
  emptyWindowMs: null,
};

/** The original's BROKER_IP / INFLUX_IP, turned into URLs on the original's fixed ports. */
function legacyUrl(envName: string, port: number): string | undefined {
  const ip = process.env[envName];
  return ip
    ? `http://${ip.includes(':') && !ip.startsWith('[') ? `[${ip}]` : ip}:${port}`
    : undefined;
}

/** The worker's option sets on a command (`jit worker`, `jit source check`). */
export interface WorkerOptionSets {
  worker: OptionSet;
  influx: OptionSet;
  prometheus: OptionSet;
  sigma: OptionSet;
}

/** Adds the worker's options (its own, the InfluxDB and Prometheus sources', sigma's) to `cmd`. */
export function addWorkerOptions(cmd: Command): WorkerOptionSets {
  return {
    worker: addOptions(cmd, workerConfigSchema, workerCliOptions),
    influx: addOptions(cmd, influxOptionsSchema, influxCliOptions),
    prometheus: addOptions(cmd, prometheusOptionsSchema, prometheusCliOptions),
    sigma: addOptions(cmd, sigmaOptionsSchema, sigmaCliOptions),
  };
}

/**
 * The worker's config and source from the command line; every bad option is reported at once,
 * each with its flag (InvalidConfigError).
 */
export async function readWorkerOptions(
  cmd: Command,
  { worker, influx, prometheus, sigma }: WorkerOptionSets,
): Promise<{ config: Readonly<WorkerConfig>; source: LatencySource }> {
  const w = worker.read(cmd);
  const i = influx.read(cmd);
  const p = prometheus.read(cmd);
  const s = sigma.read(cmd);
  const problems = [...w.problems, ...i.problems, ...p.problems, ...s.problems];
  const influxOptions = { ...i.values };
  influxOptions.url ??= legacyUrl('INFLUX_IP', 8086);
  // Without --source: influxdb when an InfluxDB URL is set, else prometheus when a Prometheus
  // URL is, else seed-sample. Each source takes its own flags' values.
  const sourceName =
    w.values.source ??
    (influxOptions.url !== undefined
      ? 'influxdb'
      : p.values.url !== undefined
        ? 'prometheus'
        : 'seed-sample');
  const sourceOptions = sourceName === 'prometheus' ? { ...p.values } : influxOptions;
  const sourceFlags = sourceName === 'prometheus' ? prometheus.flags : influx.flags;
  const values: Record<string, unknown> = {
    ...w.values,
    brokerUrl: w.values.brokerUrl ?? legacyUrl('BROKER_IP', 5000),
    source: sourceName,
    sourceOptions: Object.fromEntries(
      Object.entries(sourceOptions).filter(([, v]) => v !== undefined),
    ),
  };
  if (values.brokerUrl === undefined) delete values.brokerUrl;
  // --sigma-k is the sigma entry of --strategy-options, which wins when it names k too.
  if (s.values.k !== undefined) {
    const all = values.strategyOptions;
    if (all !== null && typeof all === 'object' && !Array.isArray(all)) {
      const named = all as Record<string, Record<string, unknown>>;
      values.strategyOptions = { ...named, sigma: { k: s.values.k, ...named.sigma } };
    }
    values.strategyOptions ??= { sigma: { k: s.values.k } };
  }
  // The source's problems name its keys bare (`url: …`) and, from the worker schema,
  // under sourceOptions: both map to the source's flags.
  const flags = {
    ...sourceFlags,
    ...worker.flags,
    ...Object.fromEntries(
      Object.entries(sourceFlags).map(([key, flag]) => [`sourceOptions.${key}`, flag]),
    ),
    'strategyOptions.sigma.k': '--sigma-k',
  };
  // Loaded only now (with the strategies, piscina and the source adapters), not for --help.
  const [{ createSource }, { createStrategy, strategyNames }, { strategyNameProblem }] =
    await Promise.all([
      import('../sources/registry.ts'),
      import('../strategies/registry.ts'),
      import('../strategies/names.ts'),
    ]);
  // Every bad option is reported at once, each with its flag, before start-up: the strategy
  // names (checked on the raw values, so they are reported even when the schema fails too),
  // the schema's problems, then the source's and the strategies' own options.
  const known = strategyNames();
  if (typeof values.strategy === 'string') {
    const nameProblem = strategyNameProblem(values.strategy, known);
    if (nameProblem) {
      problems.push(`${worker.flags.strategy} (strategy): ${nameProblem}`);
      delete values.strategy;
    }
  }
  const named = values.strategyOptions;
  if (named !== null && typeof named === 'object' && !Array.isArray(named)) {
    for (const name of Object.keys(named)) {
      const unknown = strategyNameProblem(name, known);
      if (unknown) problems.push(`--strategy-options (strategyOptions): ${unknown}`);
    }
  }
  let config: ReturnType<typeof parseWithFlags<typeof workerConfigSchema>> | undefined;
  try {
    config = parseWithFlags(workerConfigSchema, values, problems, flags);
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err;
    problems.splice(0, problems.length, ...err.problems);
  }
  let source: LatencySource | undefined;
  if (config) {
    try {
      source = createSource(config.source, sourceOptionsOf(config));
    } catch (err) {
      if (!(err instanceof InvalidConfigError)) throw err;
      problems.push(...err.problems.map((p) => nameFlag(p, flags)));
    }
    for (const [name, options] of Object.entries(config.strategyOptions)) {
      if (!known.includes(name)) continue; // reported above
      try {
        createStrategy(name, { ...options });
      } catch (err) {
        if (!(err instanceof InvalidConfigError)) throw err;
        problems.push(...err.problems.map((p) => nameFlag(`strategyOptions.${name}.${p}`, flags)));
      }
    }
  }
  if (config && source && config.discover && !source.discover)
    problems.push(
      `${worker.flags.discover ?? '--discover'}: source ${source.name} cannot discover endpoints`,
    );
  if (problems.length > 0 || !config || !source) throw new InvalidConfigError(problems);
  return { config, source };
}

export function workerCommand(): Command {
  const cmd = new Command('worker').description(
    'run a worker: registers with the broker and computes timeouts on request',
  );
  const sets = addWorkerOptions(cmd);
  return cmd.action(async () => {
    const { config, source } = await readWorkerOptions(cmd, sets);
    const [{ startWorker }, { cliLoggerOptions }, { closeOnSignals }] = await Promise.all([
      import('../worker/run.ts'),
      import('../core/logger.ts'),
      import('../core/process.ts'),
    ]);
    const running = await startWorker(config, {
      source,
      // Every line names the worker: the URL the broker knows it by.
      logger: cliLoggerOptions({
        name: `worker ${config.advertiseUrl ?? `http://${config.host}:${config.port}`}`,
      }),
    });
    if (config.source === 'seed-sample') {
      running.app.log.warn(
        'source is seed-sample: every endpoint gets the same 522 sample durations (no InfluxDB configured)',
      );
    }
    closeOnSignals(() => running.close(), running.app.log);
  });
}

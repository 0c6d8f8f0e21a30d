// Span generator for the Docker Compose demo: backfills, then keeps writing spans into InfluxDB 1.x.
//
//   node --import tsx examples/span-generator/main.ts
//
// Environment (all optional):
//   SPANGEN_INFLUX_URL        InfluxDB base URL                         default http://127.0.0.1:8086
//   SPANGEN_DB                database (created if missing)             default tracing
//   SPANGEN_RATE              requests per second per endpoint          default 20
//   SPANGEN_BACKFILL_MINUTES  history written at start                  default 30
//   SPANGEN_INCIDENT_EVERY_S  every N s one endpoint slows down (0: no) default 300
//   SPANGEN_INCIDENT_S        how long an incident lasts                default 60
//   SPANGEN_INCIDENT_FACTOR   how much slower                           default 4
//   SPANGEN_SEED              random seed                               default: the time
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { PROFILES, generateSpans, prng, type GenerateOptions } from './spans.ts';

export interface SpanGeneratorConfig {
  influxUrl: string;
  db: string;
  ratePerSecond: number;
  backfillMinutes: number;
  incident: GenerateOptions['incident'];
  seed: number;
}

function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0, got "${raw}"`);
  return n;
}

/** The generator's settings from `SPANGEN_*` variables (the names listed at the top). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SpanGeneratorConfig {
  return {
    influxUrl: (env.SPANGEN_INFLUX_URL || 'http://127.0.0.1:8086').replace(/\/+$/, ''),
    db: env.SPANGEN_DB || 'tracing',
    ratePerSecond: Math.max(0.1, numberFrom(env, 'SPANGEN_RATE', 20)),
    backfillMinutes: numberFrom(env, 'SPANGEN_BACKFILL_MINUTES', 30),
    incident: {
      periodMs: numberFrom(env, 'SPANGEN_INCIDENT_EVERY_S', 300) * 1000,
      durationMs: numberFrom(env, 'SPANGEN_INCIDENT_S', 60) * 1000,
      factor: numberFrom(env, 'SPANGEN_INCIDENT_FACTOR', 4),
    },
    seed: numberFrom(env, 'SPANGEN_SEED', Date.now() % 2 ** 31),
  };
}

/** POSTs InfluxQL to /query; throws unless InfluxDB answers without error. */
async function influxQuery(c: SpanGeneratorConfig, q: string): Promise<void> {
  const res = await fetch(`${c.influxUrl}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ q }).toString(),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (!res.ok || text.includes('"error"')) throw new Error(`${q}: HTTP ${res.status} ${text}`);
}

/** Writes line-protocol lines in batches of 5000 (`POST /write?precision=ns`). */
export async function writeSpans(c: SpanGeneratorConfig, lines: string[]): Promise<void> {
  const url = `${c.influxUrl}/write?${new URLSearchParams({ db: c.db, precision: 'ns' }).toString()}`;
  for (let i = 0; i < lines.length; i += 5000) {
    const res = await fetch(url, {
      method: 'POST',
      body: lines.slice(i, i + 5000).join('\n'),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 204) throw new Error(`write: HTTP ${res.status} ${await res.text()}`);
  }
}

/**
 * Creates the database (retrying until InfluxDB answers), writes `backfillMinutes` of history,
 * then every second the spans of the second that passed, until `signal` aborts.
 */
export async function runSpanGenerator(
  c: SpanGeneratorConfig,
  signal: AbortSignal,
  log: (message: string) => void = (m) => process.stdout.write(`${m}\n`),
): Promise<void> {
  const rand = prng(c.seed);
  const options: GenerateOptions = { ratePerSecond: c.ratePerSecond, rand, incident: c.incident };
  for (let attempt = 1; ; attempt++) {
    try {
      await influxQuery(c, `CREATE DATABASE "${c.db.replace(/["\\]/g, '\\$&')}"`);
      break;
    } catch (err) {
      if (signal.aborted) return;
      log(`waiting for InfluxDB at ${c.influxUrl} (attempt ${attempt}): ${String(err)}`);
      await sleep(Math.min(5000, 250 * attempt), undefined, { signal }).catch(() => undefined);
    }
  }
  let until = Date.now();
  const backfill = generateSpans(until - c.backfillMinutes * 60_000, until, options);
  await writeSpans(c, backfill);
  log(
    `span generator: wrote ${backfill.length} spans (${c.backfillMinutes} min of history) for ` +
      `${PROFILES.map((p) => p.name).join(', ')} into ${c.influxUrl} db ${c.db}; ` +
      `now ${c.ratePerSecond}/s per endpoint`,
  );
  while (!signal.aborted) {
    await sleep(1000, undefined, { signal }).catch(() => undefined);
    const now = Date.now();
    try {
      await writeSpans(c, generateSpans(until, now, options));
      until = now;
    } catch (err) {
      // InfluxDB restarting: keep the interval, write it with the next batch.
      log(`span generator: write failed, will retry: ${String(err)}`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  await runSpanGenerator(configFromEnv(), stop.signal);
}

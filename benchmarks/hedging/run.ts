// Hedging benchmark (issue 19): p99 latency with and without the SDK's hedged requests against a server with a heavy-tailed delay.
//
//   node --import tsx benchmarks/hedging/run.ts [--requests 2000] [--concurrency 20] [--seed 1]
//
// The server (node:http on 127.0.0.1) draws each request's delay independently: 94 % take
// 8–12 ms, 5 % 150–250 ms (a slow replica, a GC pause), 1 % 800–1200 ms. A first pass without
// hedging measures the latency and its p95; a second pass hedges after that p95 (what the broker
// serves as `hedgeMs`), with the client's default retry budget (ratio 0.1, 1 a second).
import { createTimeoutClient, type TimeoutClient } from '../../src/client/index.ts';
import { startSlowServer } from '../../test/helpers/slow-server.ts';
import { numberOption } from '../lib/cli.ts';

const argv = process.argv.slice(2);
const requests = numberOption(argv, 'requests', 2000);
const concurrency = numberOption(argv, 'concurrency', 20);
let seed = numberOption(argv, 'seed', 1) >>> 0 || 1;

/** xorshift32: the same delays for the same seed. */
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}

function heavyTailDelayMs(): number {
  const u = random();
  const jitter = random();
  if (u < 0.01) return 800 + 400 * jitter;
  if (u < 0.06) return 150 + 100 * jitter;
  return 8 + 4 * jitter;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

interface Pass {
  label: string;
  latencies: number[];
  upstream: number;
  metrics: ReturnType<TimeoutClient['metrics']>;
}

async function pass(label: string, hedgeMs: number | undefined): Promise<Pass> {
  const server = await startSlowServer(() => heavyTailDelayMs());
  const client = createTimeoutClient({
    brokerUrl: 'http://127.0.0.1:9', // no broker: the timeout is the fallback, the delay is given
    logger: null,
    fallbackMs: 10_000,
    refreshMs: 600_000,
  });
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        const t0 = performance.now();
        const res = await client.fetch('bench', server.url, {
          hedge: hedgeMs === undefined ? false : { delayMs: hedgeMs },
        });
        await res.text();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const metrics = client.metrics();
  client.close();
  await server.close();
  return { label, latencies, upstream: server.requests.length, metrics };
}

function row(p: Pass, hedgeMs: number | undefined): string {
  const s = [...p.latencies].sort((a, b) => a - b);
  const ms = (q: number) => `${quantile(s, q).toFixed(0)} ms`;
  const extra = ((p.upstream / requests - 1) * 100).toFixed(1);
  return (
    `| ${p.label} | ${hedgeMs === undefined ? '–' : `${hedgeMs.toFixed(0)} ms`} | ${ms(0.5)} | ${ms(0.95)} | ` +
    `${ms(0.99)} | ${ms(0.999)} | ${(s.at(-1) ?? NaN).toFixed(0)} ms | ${p.upstream} (+${extra} %) | ` +
    `${p.metrics.hedgesSent} / ${p.metrics.hedgesWon} / ${p.metrics.budgetDenied} |`
  );
}

const baseline = await pass('no hedging', undefined);
const p95 = quantile(
  [...baseline.latencies].sort((a, b) => a - b),
  0.95,
);
const hedged = await pass('hedged after the p95', p95);
console.log(
  `${requests} requests, ${concurrency} at a time, seed ${numberOption(argv, 'seed', 1)}`,
);
console.log(
  '| run | hedge delay | p50 | p95 | p99 | p99.9 | max | upstream calls | hedges sent / won / denied |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
console.log(row(baseline, undefined));
console.log(row(hedged, p95));

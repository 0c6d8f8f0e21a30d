// Test harness: a real scrape target (node:http + prom-client) exposing latency histograms we feed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Histogram, Registry } from 'prom-client';
import type { LatencyHistogram } from '../../src/sources/types.ts';
import type { Prometheus } from './prometheus.ts';
import { waitFor } from './wait.ts';

export interface PromTarget {
  /** host:port for a scrape config. */
  readonly address: string;
  /** How many times /metrics was read. */
  scrapes(): number;
  /** Resolves once `n` more scrapes have begun (each begins after the last one was stored). */
  waitScrapes(n: number): Promise<void>;
  close(): Promise<void>;
}

export interface TargetHistogram<L extends string> {
  readonly histogram: Histogram<L>;
  /** Bucket bounds in the metric's unit (seconds here). */
  readonly buckets: readonly number[];
}

/** Starts a target serving `registry` on 127.0.0.1 (free port). */
export async function startPromTarget(registry: Registry): Promise<PromTarget> {
  let scrapes = 0;
  const waiters: { at: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    scrapes++;
    for (const w of waiters.filter((x) => x.at <= scrapes)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    scrapes: () => scrapes,
    waitScrapes: (n) => new Promise((resolve) => waiters.push({ at: scrapes + n, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Seconds buckets of OpenTelemetry's http.server.request.duration (its default advice). */
export const OTEL_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** The histogram prom-client builds of `durationsMs` observed in seconds (bounds in ms). */
export function expectedHistogram(
  bucketsS: readonly number[],
  durationsMs: readonly number[],
): LatencyHistogram {
  const counts = Array<number>(bucketsS.length + 1).fill(0);
  for (const ms of durationsMs) {
    const v = ms / 1000; // as observed; the same float comparison prom-client makes
    const i = bucketsS.findIndex((b) => v <= b);
    counts[i === -1 ? bucketsS.length : i]! += 1;
  }
  return { boundsMs: bucketsS.map((b) => b * 1000), counts };
}

/**
 * Feeds durations (ms) to one label set so that increase() over any window reaching back past
 * the feed counts them exactly: the series is zeroed and scraped first (its first sample is 0,
 * so nothing is extrapolated before it), then fed and scraped; answers the timestamp (epoch ms)
 * of a sample holding the feed, at which every series of the target has a sample (nothing to
 * extrapolate after it either).
 */
export async function feed<L extends string>(
  prom: Prometheus,
  h: Histogram<L>,
  metric: string,
  labels: Partial<Record<L, string>>,
  durationsMs: readonly number[],
  matchers: string,
): Promise<number> {
  h.zero(labels);
  const before = Number((await prom.query(`sum(${metric}_count{${matchers}})`))[0]?.value[1] ?? 0);
  await waitFor(async () => (await prom.query(`${metric}_count{${matchers}}`)).length > 0, 10_000, {
    message: `${metric}_count{${matchers}} scraped`,
    intervalMs: 50,
  });
  for (const ms of durationsMs) h.observe(labels, ms / 1000);
  const want = before + durationsMs.length;
  await waitFor(
    async () =>
      Number((await prom.query(`sum(${metric}_count{${matchers}})`))[0]?.value[1]) === want,
    10_000,
    { message: `${want} observations of ${metric}{${matchers}} scraped`, intervalMs: 50 },
  );
  // The newest sample's own timestamp (every series of one scrape shares it).
  const ts = await prom.query(`timestamp(${metric}_count{${matchers}})`);
  return Math.round(Number(ts[0]?.value[1]) * 1000);
}

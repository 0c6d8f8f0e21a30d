// Synthetic but realistic spans: per-endpoint lognormal latency, a heavy tail, incidents; line protocol.

/** The latency of one endpoint: a lognormal body, a Pareto tail, and its request URLs. */
export interface EndpointProfile {
  /** The endpoint name the broker is configured with (matched against `http.url`, contains). */
  name: string;
  /** Median latency of the body (ms). */
  medianMs: number;
  /** Shape of the lognormal body (sd of the log); 0.3 is narrow, 0.8 is wide. */
  sigma: number;
  /** Share of requests in the slow tail (0..1). */
  tailShare: number;
  /** The tail starts at this multiple of the median and is Pareto with shape `tailAlpha`. */
  tailFromX: number;
  tailAlpha: number;
  /** `http.url` of one request, given a random number in [0, 1). */
  url(u: number): string;
  /** `service.name` of the caller. */
  service: string;
}

/** Three endpoints shaped like Jaeger's HotROD demo (a slow MySQL lookup, Redis, a route solver). */
export const PROFILES: readonly EndpointProfile[] = [
  {
    name: 'customer',
    medianMs: 280,
    sigma: 0.25,
    tailShare: 0.01,
    tailFromX: 2,
    tailAlpha: 1.8,
    url: (u) => `http://customer:8081/customer?customer=${[123, 392, 731, 567][Math.floor(u * 4)]}`,
    service: 'frontend',
  },
  {
    name: 'driver',
    medianMs: 18,
    sigma: 0.6,
    tailShare: 0.02,
    tailFromX: 5,
    tailAlpha: 1.3,
    url: (u) =>
      `http://driver:8082/driver?location=${115 + Math.floor(u * 20)},${277 + Math.floor(u * 20)}`,
    service: 'frontend',
  },
  {
    name: 'route',
    medianMs: 52,
    sigma: 0.4,
    tailShare: 0.005,
    tailFromX: 3,
    tailAlpha: 2,
    url: (u) =>
      `http://route:8083/route?dropoff=${Math.floor(u * 100)},${Math.floor(u * 50)}&pickup=577,322`,
    service: 'frontend',
  },
];

/** A seeded PRNG (mulberry32) answering numbers in [0, 1), so generated traces are reproducible. */
export { seededUniform as prng } from '../../src/core/random.ts';

/** A standard normal variate (Box–Muller). */
function normal(rand: () => number): number {
  const u = Math.max(rand(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/**
 * One request's latency (ms) for `p`, times `slowdown` (1 normally; > 1 during an incident).
 * Body: lognormal with median `medianMs`; tail: Pareto from `tailFromX × median`.
 */
export function sampleMs(p: EndpointProfile, rand: () => number, slowdown = 1): number {
  const body = p.medianMs * Math.exp(p.sigma * normal(rand));
  if (rand() >= p.tailShare) return body * slowdown;
  const tail = p.medianMs * p.tailFromX * Math.pow(1 - rand(), -1 / p.tailAlpha);
  return Math.min(tail, 60_000) * slowdown;
}

/** Line-protocol escaping of a tag value: commas, spaces and equals signs. */
export function escapeTagValue(value: string): string {
  return value.replace(/[, =]/g, '\\$&');
}

/** One span in line protocol: measurement `span`, tags, field `duration` (integer ns), time (ns). */
export function spanLine(
  p: EndpointProfile,
  url: string,
  durationMs: number,
  timeNs: bigint,
): string {
  const ns = BigInt(Math.max(1, Math.round(durationMs * 1e6)));
  return (
    `span,service.name=${escapeTagValue(p.service)},http.method=GET,` +
    `http.url=${escapeTagValue(url)} duration=${ns}i ${timeNs}`
  );
}

/**
 * Slowdown factor of `p` at `timeMs`: every `periodMs`, one endpoint (in turn) is `factor` times
 * slower for `durationMs`, so the timeouts visibly follow an incident.
 */
export function slowdownAt(
  p: EndpointProfile,
  timeMs: number,
  incident: { periodMs: number; durationMs: number; factor: number },
): number {
  if (incident.periodMs <= 0 || incident.durationMs <= 0) return 1;
  const slot = Math.floor(timeMs / incident.periodMs);
  const victim = PROFILES[slot % PROFILES.length];
  return victim?.name === p.name && timeMs % incident.periodMs < incident.durationMs
    ? incident.factor
    : 1;
}

export interface GenerateOptions {
  /** Requests per second per endpoint. */
  ratePerSecond: number;
  /** Random numbers in [0, 1). */
  rand: () => number;
  /** Incidents; none when periodMs is 0. */
  incident: { periodMs: number; durationMs: number; factor: number };
  /** Endpoints to generate; default PROFILES. */
  profiles?: readonly EndpointProfile[];
}

/** The spans of every endpoint that start in [fromMs, toMs), evenly spaced with jitter. */
export function generateSpans(fromMs: number, toMs: number, o: GenerateOptions): string[] {
  const lines: string[] = [];
  const stepMs = 1000 / o.ratePerSecond;
  for (const p of o.profiles ?? PROFILES) {
    for (let t = fromMs + o.rand() * stepMs; t < toMs; t += stepMs * (0.5 + o.rand())) {
      const ms = sampleMs(p, o.rand, slowdownAt(p, t, o.incident));
      const timeNs = BigInt(Math.floor(t)) * 1_000_000n + BigInt(Math.floor(o.rand() * 1e6));
      lines.push(spanLine(p, p.url(o.rand()), ms, timeNs));
    }
  }
  return lines;
}

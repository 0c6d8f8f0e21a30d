// The demo's traffic: SERVER spans with distinct latency shapes, sent through the real OpenTelemetry JS SDK (OTLP/protobuf) to the receiver.
import type { Tracer } from '@opentelemetry/api';
import type * as OtelApi from '@opentelemetry/api';
import type * as OtelProto from '@opentelemetry/exporter-trace-otlp-proto';
import type * as OtelResources from '@opentelemetry/resources';
import type * as OtelSdk from '@opentelemetry/sdk-trace-base';
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import {
  describeSyntheticProfile,
  syntheticProfile,
  type SyntheticProfile,
  type SyntheticShape,
} from '../sources/synthetic.ts';

/** One endpoint of the demo's services: the span attributes that name it, and its latency shape. */
export interface DemoRoute {
  service: string;
  method: string;
  route: string;
  shape: SyntheticShape;
}

/**
 * The demo's calls, one of each latency shape, over three services. Their endpoint names are
 * what the default naming rules make of SERVER spans: `service.name method http.route`.
 */
export const DEMO_ROUTES: readonly DemoRoute[] = [
  { service: 'checkout', method: 'GET', route: '/api/cart/{id}', shape: 'steady' },
  { service: 'checkout', method: 'POST', route: '/api/orders', shape: 'heavy-tail' },
  { service: 'catalog', method: 'GET', route: '/api/products', shape: 'bursty' },
  { service: 'payments', method: 'POST', route: '/api/charge', shape: 'bimodal' },
];

/** The endpoint name the broker's default rules give a route's SERVER spans. */
export const demoEndpointName = (r: DemoRoute) => `${r.service} ${r.method} ${r.route}`;

export interface DemoTrafficOptions {
  /** The receiver's base URL; spans go to `${url}/v1/traces`. */
  otlpUrl: string;
  /** Spans of this many past minutes are sent at start, so values appear within seconds. Default 3 (min). */
  backfillMinutes?: number;
  /** Live spans are made this often (each batch covers the time since the last). Default 250 (ms). */
  tickMs?: number;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Told when an export fails (the receiver was busy or away); the generator keeps going. */
  onError?: (message: string) => void;
}

export interface DemoTraffic {
  /** The endpoint names the spans produce, with a line describing each one's latency. */
  endpoints: { name: string; description: string }[];
  /** Stops making spans, flushes what is queued to the receiver and shuts the SDK down. */
  stop(): Promise<void>;
}

/** Added to each profile's rate (5–25 spans/s), so that each endpoint gets 10–30 spans/s. */
const EXTRA_RATE = 5;
/** No span is longer than a minute (as the synthetic source). */
const MAX_DURATION_MS = 60_000;

/**
 * One duration for a span ending at `t` (ms) with the profile's shape: the synthetic source's
 * model (log-normal body drifting sinusoidally, plus a heavy tail, a second mode or bursts),
 * drawn with `Math.random` since the spans are live traffic, not a reproducible window.
 */
export function drawDurationMs(p: SyntheticProfile, phase: number, t: number): number {
  const drift = 1 + p.driftShare * Math.sin((2 * Math.PI * t) / p.driftPeriodMs + phase);
  // Box–Muller; 1 − u keeps log away from 0.
  const z = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  let d = p.medianMs * drift * Math.exp(p.sigma * z);
  switch (p.shape) {
    case 'heavy-tail':
      if (Math.random() < p.slowShare) d *= (1 - Math.random()) ** (-1 / 1.2) * 3;
      break;
    case 'bimodal':
      if (Math.random() < p.slowShare) d *= p.slowFactor;
      break;
    case 'bursty':
      if ((t + phase * p.burstEveryMs) % p.burstEveryMs < p.burstMs) d *= p.slowFactor;
      break;
    case 'steady':
      break;
  }
  return Math.min(d, MAX_DURATION_MS);
}

/**
 * Imports the SDK packages at run time: they are devDependencies, absent from an installed
 * package (`npm install justintimeout`), where the demo falls back to the synthetic source.
 */
/** The SDK's modules (type-only imports: nothing of them is loaded until `loadOtel` runs). */
export interface OtelModules {
  api: typeof OtelApi;
  sdk: typeof OtelSdk;
  resources: typeof OtelResources;
  proto: typeof OtelProto;
}

async function loadOtel(): Promise<OtelModules> {
  const [api, sdk, resources, proto] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  return { api, sdk, resources, proto };
}

/** The SDK's modules, as `tryLoadOtel` answers them. */

/**
 * Loads the SDK: answers the modules, or a one-line reason they are missing (an installed
 * package has no dev dependencies). Other errors are real and thrown.
 */
export async function tryLoadOtel(): Promise<
  { ok: true; otel: OtelModules } | { ok: false; reason: string }
> {
  try {
    return { ok: true, otel: await loadOtel() };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      return {
        ok: false,
        reason: `the OpenTelemetry JS SDK is not installed (${(err as Error).message.split('\n')[0] ?? ''})`,
      };
    }
    throw err;
  }
}

/**
 * Starts the traffic: one tracer provider per service (its `service.name` resource), a
 * BatchSpanProcessor and an OTLP/protobuf exporter each, as an instrumented service would have.
 * Spans get explicit start and end times, so a backfill of minutes takes no real time and
 * nothing waits for a span's duration.
 */
export async function startDemoTraffic(
  otel: OtelModules,
  opts: DemoTrafficOptions,
): Promise<DemoTraffic> {
  const { api, sdk, resources, proto } = otel;
  const now = opts.now ?? Date.now;
  const tickMs = opts.tickMs ?? 250;
  const providers = new Map<string, { provider: BasicTracerProvider; tracer: Tracer }>();
  for (const service of new Set(DEMO_ROUTES.map((r) => r.service))) {
    const provider = new sdk.BasicTracerProvider({
      resource: resources.resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [
        new sdk.BatchSpanProcessor(
          new proto.OTLPTraceExporter({ url: `${opts.otlpUrl}/v1/traces` }),
          // The backfill queues minutes of spans at once: a queue that holds them, exported
          // often, so the first values appear within a second or two.
          { maxQueueSize: 65_536, maxExportBatchSize: 512, scheduledDelayMillis: 200 },
        ),
      ],
    });
    providers.set(service, { provider, tracer: provider.getTracer('jit-demo') });
  }
  const routes = DEMO_ROUTES.map((r) => {
    const name = demoEndpointName(r);
    const p = syntheticProfile(name, r.shape);
    const rate = p.ratePerSecond + EXTRA_RATE;
    // A phase per endpoint so that the drifts and bursts do not line up.
    const phase = (name.length * 0.37) % (2 * Math.PI);
    const tracer = (providers.get(r.service) as { tracer: Tracer }).tracer;
    return { r, name, profile: { ...p, ratePerSecond: rate }, phase, tracer };
  });

  /** Spans ending in [from, to) for every route, Poisson-ish: a jittered gap of 1/rate. */
  const emit = (from: number, to: number) => {
    for (const x of routes) {
      const gap = 1000 / x.profile.ratePerSecond;
      for (let end = from + Math.random() * gap; end < to; end += gap * (0.5 + Math.random())) {
        const d = drawDurationMs(x.profile, x.phase, end);
        const span = x.tracer.startSpan(`${x.r.method} ${x.r.route}`, {
          kind: api.SpanKind.SERVER,
          startTime: end - d,
          attributes: { 'http.request.method': x.r.method, 'http.route': x.r.route },
        });
        // 1 in 200 calls fails (a 5xx): recorded as the span's status, kept apart by the windows.
        if (Math.random() < 0.005) {
          span.setAttribute('http.response.status_code', 503);
          span.setStatus({ code: api.SpanStatusCode.ERROR });
        } else span.setAttribute('http.response.status_code', 200);
        span.end(end);
      }
    }
  };

  const flushAll = () =>
    Promise.all([...providers.values()].map(({ provider }) => provider.forceFlush()));

  let last = now();
  const backfillMs = (opts.backfillMinutes ?? 3) * 60_000;
  // In slices of 30 s, each flushed before the next, so the processor's queue never overflows.
  for (let from = last - backfillMs; from < last; from += 30_000) {
    emit(from, Math.min(last, from + 30_000));
    await flushAll().catch((err: unknown) => opts.onError?.(String(err)));
  }
  let stopped = false;
  const timer = setInterval(() => {
    const t = now();
    emit(last, t);
    last = t;
  }, tickMs);
  return {
    endpoints: routes.map((x) => ({
      name: x.name,
      description: describeSyntheticProfile(x.profile),
    })),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // shutdown() flushes the queued spans to the receiver first.
      await Promise.allSettled([...providers.values()].map(({ provider }) => provider.shutdown()));
    },
  };
}

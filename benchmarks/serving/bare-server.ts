// The baselines of the serving benchmark: bare Fastify routes answering constants, nothing else.
import Fastify from 'fastify';

/** The bytes the broker's /v1/timeouts answers for a benchmark endpoint (same length and shape). */
const ENDPOINT_VIEW = JSON.stringify({
  endpoint: '/api/service-42',
  timeoutMs: 69,
  hedgeMs: 41.333333333333336,
  storedMs: 62,
  status: 'fresh',
  strategy: 'adaptive',
  alpha: 0.001,
  options: {},
  method: 'aci-quantile',
  samples: 5000,
  meanMs: 20.666666666666668,
  sdMs: 6.2,
  percentilesMs: {
    p50: 15.5,
    p90: 31,
    p95: 41.333333333333336,
    p99: 51.66666666666667,
    p999: 62,
    max: 93,
  },
  censored: 0,
  state: { level: 0.001 },
  computedAt: '2026-11-28T04:02:19.075Z',
  attemptedAt: '2026-11-28T04:02:19.075Z',
  lastError: null,
});

const app = Fastify({ logger: false });
// What the issue names as the limit: a route that returns a constant.
app.get('/constant', (_req, reply) => reply.type('text/plain; charset=utf-8').send('4887'));
// The same limit for a reply of /v1/timeouts' size: what the HTTP stack costs for those bytes.
app.get('/constant-json', (_req, reply) =>
  reply.type('application/json; charset=utf-8').send(ENDPOINT_VIEW),
);
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(
  `listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}\n`,
);

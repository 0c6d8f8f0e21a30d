// The hot-path HTTP histogram must expose exactly what prom-client's Histogram would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { Histogram, Registry } from 'prom-client';
import { HttpDurationHistogram } from './http-duration.ts';
import { LATENCY_BUCKETS_S } from './metrics.ts';

const NAME = 'jit_http_request_duration_seconds';
const HELP = 'Time to answer HTTP requests.';

describe('HttpDurationHistogram', () => {
  it("exposes the same text as prom-client's Histogram for the same observations", async () => {
    const theirs = new Registry();
    const reference = new Histogram({
      name: NAME,
      help: HELP,
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS_S,
      registers: [theirs],
    });
    const ours = new Registry();
    const http = new HttpDurationHistogram(NAME, HELP, LATENCY_BUCKETS_S);
    ours.registerMetric(http.asMetric());

    const get = http.recorder('GET', '/v1/timeouts/:endpoint');
    // One series per label set, whoever asks (the broker's hot reads share their route's).
    assert.equal(http.recorder('GET', '/v1/timeouts/:endpoint'), get);
    const post = http.recorder('POST', '/v1/workers');
    // On a bound, between bounds, below the first, above the last.
    const cases: [typeof get, string, string, number, number][] = [
      [get, 'GET', '/v1/timeouts/:endpoint', 200, 0.001],
      [get, 'GET', '/v1/timeouts/:endpoint', 200, 0.0003],
      [get, 'GET', '/v1/timeouts/:endpoint', 200, 0.0042],
      [get, 'GET', '/v1/timeouts/:endpoint', 422, 0.02],
      [post, 'POST', '/v1/workers', 201, 75],
      [post, 'POST', '/v1/workers', 201, 60],
    ];
    for (const [rec, method, route, status, s] of cases) {
      rec(status, s);
      reference.observe({ method, route, status_code: String(status) }, s);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(
      await ours.metrics(),
      /jit_http_request_duration_seconds_count\{method="GET",route="\/v1\/timeouts\/:endpoint",status_code="200"\} 3/,
    );

    http.reset();
    reference.reset();
    get(200, 0.5);
    reference.observe({ method: 'GET', route: '/v1/timeouts/:endpoint', status_code: '200' }, 0.5);
    // After a reset prom-client forgets the series; ours keeps them at zero (no label churn).
    assert.match(await ours.metrics(), /status_code="422"\} 0\n/);
    assert.match(
      await ours.metrics(),
      /_count\{method="GET",route="\/v1\/timeouts\/:endpoint",status_code="200"\} 1\n/,
    );
  });

  it('records the routes declared after install, by template, and nothing for unmatched paths', async () => {
    const app = Fastify();
    const http = new HttpDurationHistogram(NAME, HELP, LATENCY_BUCKETS_S);
    const seen: string[] = [];
    app.get('/before', () => 'x');
    http.install(app);
    app.get(
      '/items/:id',
      { onResponse: (_req, _reply, done) => (seen.push('own'), done()) },
      () => 'x',
    );
    app.post('/items', (_req, reply) => reply.code(201).send('x'));
    try {
      await app.inject('/items/1');
      await app.inject('/items/2');
      await app.inject({ method: 'POST', url: '/items' });
      await app.inject('/before');
      await app.inject('/nowhere');
      const { values } = await http.get();
      const counts = values
        .filter((v) => v.metricName.endsWith('_count'))
        .map((v) => `${v.labels.method} ${v.labels.route} ${v.labels.status_code} ${v.value}`);
      assert.deepEqual(counts.sort(), ['GET /items/:id 200 2', 'POST /items 201 1']);
      // The route's own onResponse hook still runs.
      assert.deepEqual(seen, ['own', 'own']);
    } finally {
      await app.close();
    }
  });
});

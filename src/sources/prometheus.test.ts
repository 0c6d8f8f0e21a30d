// Source prometheus: PromQL text by hand, then against a real Prometheus scraping a prom-client target.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { InvalidConfigError, JitError } from '../core/errors.ts';
import {
  expectedHistogram,
  feed,
  startPromTarget,
  type PromTarget,
} from '../../test/helpers/prom-target.ts';
import { prometheusSkip, startPrometheus, type Prometheus } from '../../test/helpers/prometheus.ts';
import { assertHistogramWindow, latencySourceConformance } from './latency-source.conformance.ts';
import { createPrometheusSource, histogramFromBuckets } from './prometheus.ts';
import {
  joinEndpointName,
  labelMatchers,
  quotePromString,
  selectorProblem,
  splitEndpointName,
} from './promql.ts';
import { createSource } from './registry.ts';

const WIDE = { windowHours: 48, limit: 5000 };

describe('PromQL text', () => {
  it('quotes strings with Go escapes: backslash, quote, newline, control characters', () => {
    assert.equal(quotePromString('a'), '"a"');
    assert.equal(quotePromString('it\'s "q" \\ {x}'), '"it\'s \\"q\\" \\\\ {x}"');
    assert.equal(quotePromString('a\nb\rc\td\u0001\u007f'), '"a\\nb\\rc\\td\\x01\\x7f"');
    assert.equal(quotePromString('😀 é'), '"😀 é"');
    assert.throws(() => quotePromString('x\ud800'), RangeError);
    assert.throws(() => quotePromString('\udc00'), RangeError);
  });

  it('accepts a selector only as a list of matchers', () => {
    for (const ok of ['', 'job="api"', ' job="api", env!~"dev|test" ,', "a='x', b=`y\\`"])
      assert.equal(selectorProblem(ok), undefined, ok);
    for (const bad of [
      'job="api"} or vector(1',
      'job=api',
      'job="a" env="b"',
      '}',
      'job="a\nb"',
      'job="x",,',
    ])
      assert.ok(selectorProblem(bad), bad);
  });

  it('splits and joins endpoint names: only the last label may hold spaces', () => {
    assert.deepEqual(splitEndpointName('GET /a b', 2), ['GET', '/a b']);
    assert.deepEqual(splitEndpointName('x y', 1), ['x y']);
    assert.equal(splitEndpointName('GET', 2), undefined);
    assert.equal(joinEndpointName(['GET', '/a b']), 'GET /a b');
    assert.equal(joinEndpointName(['G ET', '/a']), undefined);
    assert.equal(joinEndpointName(['GET', '']), undefined);
  });

  it('reads cumulative buckets: merges le spellings, holds dips level, needs +Inf', () => {
    const v = (le: string, value: number) => ({ metric: { le }, value });
    const h = histogramFromBuckets(
      [v('+Inf', 10), v('0.1', 4), v('0.05', 2), v('0.1', 0), v('0.25', 3.5)],
      1000,
      'p',
      'm',
    );
    // 0.05 → 2, 0.1 → 4 (le "0.1" twice: summed), 0.25 → 3.5 held at 4, +Inf → 10.
    assert.deepEqual(h, { boundsMs: [50, 100, 250], counts: [2, 2, 0, 6] });
    assert.equal(histogramFromBuckets([v('+Inf', 0), v('1', 0)], 1, 'p', 'm'), undefined);
    assert.throws(() => histogramFromBuckets([v('1', 3)], 1, 'p', 'm'), /no le="\+Inf"/);
    assert.throws(() => histogramFromBuckets([v('x', 3)], 1, 'p', 'm'), /le=x/);
  });

  it('checks its options: unit from the name, selector, label names', () => {
    assert.equal(createSource('prometheus').name, 'prometheus');
    assert.throws(
      () => createPrometheusSource({ metric: 'latency_total' }),
      (err: unknown) =>
        err instanceof InvalidConfigError && /unit.*cannot tell the unit/.test(err.message),
    );
    createPrometheusSource({ metric: 'response_latency_ms' });
    createPrometheusSource({ metric: 'latency', unit: 'ms' });
    assert.throws(
      () =>
        createPrometheusSource({
          selector: 'job="a"} or up{',
          endpointLabels: ['ok', 'bad-name'],
          url: 'localhost:9090',
        }),
      (err: unknown) => err instanceof InvalidConfigError && err.problems.length === 3,
    );
  });
});

const METRIC = 'jit_conformance_latency_seconds';
const BUCKETS_S = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

describe('prometheus (real server)', { skip: prometheusSkip() }, () => {
  latencySourceConformance('prometheus', async () => {
    const registry = new Registry();
    const histogram = new Histogram({
      name: METRIC,
      help: 'conformance latencies',
      labelNames: ['endpoint'],
      buckets: BUCKETS_S,
      registers: [registry],
    });
    const target = await startPromTarget(registry);
    const prom = await startPrometheus([target.address]);
    // Queries are evaluated at the newest fed sample: increase() then extrapolates nothing.
    let pinnedMs = Date.now();
    return {
      source: createPrometheusSource(
        { url: prom.url, metric: METRIC, endpointLabels: ['endpoint'] },
        { now: () => pinnedMs },
      ),
      async seed(endpoint, durationsMs) {
        pinnedMs = await feed(
          prom,
          histogram,
          METRIC,
          { endpoint },
          durationsMs,
          labelMatchers(['endpoint'], [endpoint]),
        );
        return true;
      },
      histogramOf: (durationsMs) => expectedHistogram(BUCKETS_S, durationsMs),
      async teardown() {
        await prom.stop();
        await target.close();
      },
    };
  });

  describe('OpenTelemetry names, discovery, inspection, hostile values', () => {
    const OTEL = 'http_server_request_duration_seconds';
    let prom: Prometheus;
    let target: PromTarget;
    let pinnedMs = 0;
    const registry = new Registry();
    const otel = new Histogram({
      name: OTEL,
      help: 'Duration of HTTP server requests.',
      labelNames: ['http_request_method', 'http_route', 'service'],
      buckets: BUCKETS_S,
      registers: [registry],
    });
    const hostile = ['a"b', 'c\\d', 'e\nf', '{g}', "h'i", 'j`k', '\\"})) or vector(1) #'];
    const source = (extra: Record<string, unknown> = {}) =>
      createPrometheusSource(
        { url: prom.url, metric: OTEL, selector: 'service="api"', ...extra },
        { now: () => pinnedMs },
      );
    const fed = {
      'GET /api/orders': [3, 7, 40, 40, 90],
      'POST /api/orders/{id}': [200, 300],
      'GET /a b c': [0.5],
    };

    before(async () => {
      target = await startPromTarget(registry);
      prom = await startPrometheus([target.address]);
      for (const [name, durations] of Object.entries(fed)) {
        const [method, route] = splitEndpointName(name, 2) as [string, string];
        const labels = { http_request_method: method, http_route: route, service: 'api' };
        pinnedMs = await feed(
          prom,
          otel,
          OTEL,
          labels,
          durations,
          labelMatchers(Object.keys(labels), Object.values(labels)),
        );
      }
      // Another service's series: the selector must keep them out.
      otel.zero({ http_request_method: 'GET', http_route: '/api/orders', service: 'other' });
      for (const [i, route] of hostile.entries()) {
        const labels = { http_request_method: 'GET', http_route: route, service: 'api' };
        pinnedMs = await feed(
          prom,
          otel,
          OTEL,
          labels,
          [i + 1],
          labelMatchers(Object.keys(labels), Object.values(labels)),
        );
      }
    });
    after(async () => {
      await prom?.stop();
      await target?.close();
    });

    it('names endpoints "<method> <route>" and reads each one\'s buckets', async () => {
      const s = source();
      for (const [name, durations] of Object.entries(fed)) {
        await assertHistogramWindow(s, name, WIDE, expectedHistogram(BUCKETS_S, durations));
      }
      const w = await s.fetchWindow('GET /api/orders', WIDE);
      assert.ok(Math.abs((w.histogram?.sumMs ?? 0) - 180) < 1e-6, `sum ${w.histogram?.sumMs}`);
      // A name that is not two label values, or not there: an empty window, not an error.
      assert.deepEqual(await s.fetchWindow('GET', WIDE), {
        durationsMs: [],
        timestampsMs: undefined,
      });
      assert.equal((await s.fetchWindow('PUT /api/orders', WIDE)).histogram, undefined);
    });

    it('hostile label values reach PromQL only escaped (and are read back exactly)', async () => {
      const s = source();
      for (const [i, route] of hostile.entries()) {
        if (route.includes('\n')) continue; // not an endpoint name (control character)
        await assertHistogramWindow(s, `GET ${route}`, WIDE, expectedHistogram(BUCKETS_S, [i + 1]));
      }
      // The newline one, through the same escaping, straight against Prometheus.
      const got = await prom.query(
        `count(${OTEL}_bucket{${labelMatchers(['http_route'], ['e\nf'])}})`,
      );
      assert.equal(got[0]?.value[1], String(BUCKETS_S.length + 1));
    });

    it("escaping round-trips any string through Prometheus's parser (absent() echoes the matcher)", async () => {
      // absent(m{x="v"}) answers one series labelled x="v": what Prometheus read from our quoting.
      let seed = 7;
      const rand = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
      const alphabet = [
        '"',
        "'",
        '`',
        '\\',
        '\n',
        '\r',
        '\t',
        '\u0000',
        '\u007f',
        '{',
        '}',
        ',',
        '=',
        '~',
        '$',
        ' ',
        'a',
        'é',
        '😀',
        '\u2028',
        '#',
      ];
      for (let i = 0; i < 150; i++) {
        const value = Array.from(
          { length: 1 + rand(12) },
          () => alphabet[rand(alphabet.length)],
        ).join('');
        const got = await prom.query(`absent(jit_nothing{x=${quotePromString(value)}})`);
        assert.deepEqual(got[0]?.metric, { x: value }, JSON.stringify(value));
      }
    });

    it('discover() lists the endpoints as fetchWindow names them', async () => {
      const names = await source().discover?.(WIDE);
      const expected = [
        ...Object.keys(fed),
        ...hostile.filter((r) => !r.includes('\n')).map((r) => `GET ${r}`),
      ].sort();
      assert.deepEqual(names, expected);
      // With one naming label, the other service's series appear under the selector's absence.
      const routes = await source({ selector: '', endpointLabels: ['service'] }).discover?.(WIDE);
      assert.deepEqual(routes, ['api', 'other']);
    });

    it('check() passes with the metric, fails with SOURCE_METRIC_NOT_FOUND without it', async () => {
      await source().check();
      for (const extra of [{ metric: 'nope_seconds' }, { selector: 'service="nope"' }]) {
        await assert.rejects(source(extra).check(), (err: unknown) => {
          assert.ok(err instanceof JitError);
          assert.equal(err.code, 'SOURCE_METRIC_NOT_FOUND');
          assert.equal(err.statusCode, 503);
          assert.match(err.message, /has no series .*_bucket\{.*\} in the last 48 h/);
          return true;
        });
      }
    });

    it('inspect() shows the queries and samples of a good configuration, no problems', async () => {
      const r = await source().inspect?.(['GET /api/orders', 'POST /api/orders/{id}'], WIDE);
      assert.ok(r);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.samples, [
        { endpoint: 'GET /api/orders', count: 5 },
        { endpoint: 'POST /api/orders/{id}', count: 2 },
      ]);
      assert.equal(
        r.queries[0],
        `sum by (le) (increase(${OTEL}_bucket{service="api", http_request_method="GET", http_route="/api/orders"}[172800000ms]))`,
      );
    });

    it('inspect() names what is missing: metric, selector, label, value, unit', async () => {
      const problems = async (extra: Record<string, unknown>, endpoints = ['GET /api/orders']) =>
        ((await source(extra).inspect?.(endpoints, WIDE))?.problems ?? []).join('\n');
      assert.match(
        await problems({ metric: 'http_client_request_duration_seconds' }),
        /no metric http_client_request_duration_seconds_bucket in the last 48 h; histograms there: .*"http_server_request_duration_seconds"/,
      );
      assert.match(await problems({ selector: 'service="nope"' }), /none match the selector/);
      assert.match(
        await problems({ endpointLabels: ['http_request_method', 'url_path'] }),
        /no series .* has the label url_path.*"http_route"/,
      );
      assert.match(
        await problems({}, ['GET /api/missing']),
        /no observations for "GET \/api\/missing": label http_route has no value "\/api\/missing"/,
      );
      assert.match(await problems({ unit: 'ms' }), /the unit is ms but the name .* says s/);
      assert.match(await problems({}, ['GET']), /"GET" is not a name of 2 space-separated/);
    });
  });

  describe('a Prometheus that is down, slow or answers garbage', () => {
    let junk: Server;
    let junkUrl = '';
    let answer: (path: string) => { status: number; body: string } | 'hang' = () => ({
      status: 200,
      body: '',
    });
    before(async () => {
      junk = createServer((req, res) => {
        const a = answer(req.url ?? '');
        if (a === 'hang') return; // never answers
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
      });
      await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
      junkUrl = `http://127.0.0.1:${(junk.address() as AddressInfo).port}`;
    });
    after(async () => {
      junk.closeAllConnections();
      await new Promise((r) => junk.close(r));
    });

    const fails = async (
      src: ReturnType<typeof createPrometheusSource>,
      code: string,
      pattern: RegExp,
    ) => {
      await assert.rejects(src.fetchWindow('GET /x', WIDE), (err: unknown) => {
        assert.ok(err instanceof JitError, String(err));
        assert.equal(err.code, code);
        assert.match(err.message, pattern);
        return true;
      });
    };

    it('down: SOURCE_UNAVAILABLE naming the connection error, for fetch, check and inspect', async () => {
      const src = createPrometheusSource({ url: 'http://127.0.0.1:1' });
      await fails(src, 'SOURCE_UNAVAILABLE', /unreachable: connection failed: ECONNREFUSED/);
      await assert.rejects(src.check(), /ECONNREFUSED/);
      const r = await src.inspect?.(['GET /x'], WIDE);
      assert.match(r?.problems.join() ?? '', /ECONNREFUSED/);
    });

    it('slow: SOURCE_UNAVAILABLE after the request timeout', async () => {
      answer = () => 'hang';
      const started = Date.now();
      await fails(
        createPrometheusSource({ url: junkUrl, requestTimeoutMs: 300 }),
        'SOURCE_UNAVAILABLE',
        /no answer within 300 ms/,
      );
      assert.ok(Date.now() - started < 3000);
    });

    it('garbage: SOURCE_QUERY_FAILED, never a value', async () => {
      const src = createPrometheusSource({ url: junkUrl });
      const cases: [{ status: number; body: string }, RegExp][] = [
        [{ status: 200, body: '<html>hello</html>' }, /not Prometheus API JSON/],
        [{ status: 200, body: '[1,2]' }, /not a Prometheus API answer/],
        [
          { status: 200, body: '{"status":"success","data":{"resultType":"matrix","result":[]}}' },
          /instant vector/,
        ],
        [
          {
            status: 200,
            body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"le":"+Inf"},"value":[1,"abc"]}]}}',
          },
          /sample value abc/,
        ],
        [
          {
            status: 200,
            body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"le":"+Inf"},"value":[1,"-3"]}]}}',
          },
          /counted -3/,
        ],
        [
          { status: 400, body: '{"status":"error","errorType":"bad_data","error":"parse error"}' },
          /HTTP 400: bad_data: parse error/,
        ],
        [{ status: 503, body: 'Service Unavailable' }, /HTTP 503/],
      ];
      for (const [a, pattern] of cases) {
        answer = () => a;
        await fails(src, 'SOURCE_QUERY_FAILED', pattern);
      }
    });
  });
});

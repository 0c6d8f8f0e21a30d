// The exporters: formats validated against the real schemas (Gateway API, Istio) and Envoy's v3 fields, durations, YAML, injection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { parse, parseAllDocuments } from 'yaml';
import {
  HOSTILE_NAMES,
  HTTP_ROUTES,
  MAPPING,
  VALUES,
  VIRTUAL_SERVICES,
} from '../../test/helpers/export-fixtures.ts';
import { InvalidConfigError } from '../core/errors.ts';
import { gatewayDuration, protoDuration, msTime } from './durations.ts';
import { envoyRouteConfiguration } from './envoy.ts';
import { gatewayApiRoutes } from './gateway-api.ts';
import { istioVirtualServices } from './istio.ts';
import { objectsOf } from './kubernetes-base.ts';
import { parseMapping, type Mapping } from './mapping.ts';
import { renderExport } from './render.ts';
import { EXPORT_FORMATS, type ExportInput, type ServedValue } from './types.ts';
import { toYaml } from './yaml.ts';

const BASE = [...objectsOf(HTTP_ROUTES), ...objectsOf(VIRTUAL_SERVICES)];
const input = (values: ServedValue[] = VALUES, mapping: Mapping = MAPPING): ExportInput => ({
  values,
  mapping,
  base: BASE,
});

/** The Gateway API CRD's Duration pattern (GEP-2257), as the HTTPRoute schema states it. */
const GATEWAY_DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
/** google.protobuf.Duration in JSON: seconds, up to 9 decimals, suffix s. */
const PROTO_DURATION = /^-?[0-9]+(\.[0-9]{1,9})?s$/;

function gatewayMs(d: string): number {
  const unit = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
  let ms = 0;
  for (const m of d.matchAll(/(\d+)(ms|h|m|s)/g))
    ms += Number(m[1]) * unit[m[2] as keyof typeof unit];
  return ms;
}

describe('durations', () => {
  it('Gateway API: integer components only, matching the CRD pattern, never shorter than asked', () => {
    const cases: [number, string][] = [
      [221, '221ms'],
      [1500, '1s500ms'],
      [1000, '1s'],
      [60_000, '1m'],
      [3_723_004, '1h2m3s4ms'],
      [0.2, '1ms'],
      [220.1, '221ms'],
    ];
    for (const [ms, want] of cases) assert.equal(gatewayDuration(ms), want, String(ms));
    for (let ms = 1; ms < 5_000_000; ms = Math.ceil(ms * 1.37) + 1) {
      const d = gatewayDuration(ms);
      assert.match(d, GATEWAY_DURATION);
      assert.equal(gatewayMs(d), Math.ceil(ms));
    }
    assert.throws(() => gatewayDuration(0), RangeError);
    assert.throws(() => gatewayDuration(Number.NaN), RangeError);
  });

  it('protobuf Duration (Istio, Envoy) and nginx/HAProxy ms', () => {
    assert.equal(protoDuration(221), '0.221s');
    assert.equal(protoDuration(1500), '1.5s');
    assert.equal(protoDuration(2000), '2s');
    assert.equal(protoDuration(10.01), '0.011s');
    assert.equal(protoDuration(1020), '1.02s');
    for (let ms = 1; ms < 5_000_000; ms = Math.ceil(ms * 1.37) + 1) {
      assert.match(protoDuration(ms), PROTO_DURATION);
      assert.equal(Math.round(Number.parseFloat(protoDuration(ms)) * 1000), ms);
    }
    assert.equal(msTime(220.2), '221ms');
  });
});

describe('YAML writer', () => {
  it('round-trips awkward strings and keys through a real YAML parser', () => {
    const value = {
      apiVersion: 'v1',
      on: 'y',
      'a: b': ['---', '# not a comment', 'line\nbreak', 'quote " and \' and \\', 'ünï\u2028cödé'],
      empty: [],
      none: {},
      n: null,
      nested: [{ a: 1, b: [true, false], c: { d: 'e' } }, [1, 2], 'x'],
      number: 0.25,
    };
    const text = toYaml(value);
    assert.ok(/^[\x20-\x7e\n]*$/.test(text), 'ASCII only');
    assert.deepEqual(parse(text), value);
  });
});

describe('gateway-api', () => {
  const docs = gatewayApiRoutes(input());

  it('HTTPRoutes that validate against the Gateway API schema', () => {
    assert.equal(docs.length, 1);
    for (const { object } of docs) new HTTPRoute(object as never).validate();
    // And the written text, parsed back, is the same objects.
    const text = renderExport('gateway-api', input());
    const parsed = parseAllDocuments(text).map((d) => d.toJS() as unknown);
    assert.deepEqual(
      parsed,
      docs.map((d) => d.object),
    );
  });

  it('carries only what server-side apply needs, with the live rules and the timeouts set', () => {
    const o = docs[0]?.object as {
      metadata: Record<string, unknown>;
      spec: { rules: Record<string, unknown>[] };
    };
    assert.deepEqual(Object.keys(o).sort(), ['apiVersion', 'kind', 'metadata', 'spec']);
    assert.deepEqual(o.metadata, { name: 'shop', namespace: 'shop' });
    assert.deepEqual(Object.keys(o.spec), ['rules']);
    const live = HTTP_ROUTES.items[0]?.spec.rules ?? [];
    assert.equal(o.spec.rules.length, live.length);
    // rules[0] (by name "cart"): 221 ms; no retries, so request = backendRequest.
    assert.deepEqual(o.spec.rules[0], {
      ...live[0],
      timeouts: { request: '221ms', backendRequest: '221ms' },
    });
    // rules[1]: retry.attempts 2 → the request covers three tries.
    assert.deepEqual(o.spec.rules[1]?.timeouts, { request: '4s500ms', backendRequest: '1s500ms' });
    assert.deepEqual(o.spec.rules[1]?.matches, live[1]?.matches);
    // rules[2]: no value yet, left exactly as it is.
    assert.deepEqual(o.spec.rules[2], live[2]);
    // The live object is not modified.
    assert.equal((live[0] as { timeouts?: unknown }).timeouts, undefined);
  });

  it('names what is missing: the route, the rule, two endpoints on one rule', () => {
    const m = (gatewayApi: Record<string, unknown>, other?: Record<string, unknown>) =>
      parseMapping({
        endpoints: { a: { gatewayApi }, ...(other ? { b: { gatewayApi: other } } : {}) },
      });
    const v: ServedValue[] = [
      { endpoint: 'a', servedMs: 100, status: 'fresh' },
      { endpoint: 'b', servedMs: 100, status: 'fresh' },
    ];
    assert.throws(
      () => gatewayApiRoutes(input(v, m({ namespace: 'shop', name: 'nope' }))),
      /HTTPRoute shop\/nope is not in --base/,
    );
    assert.throws(
      () => gatewayApiRoutes(input(v, m({ namespace: 'shop', name: 'shop', rule: 7 }))),
      /has no rule 7/,
    );
    assert.throws(
      () => gatewayApiRoutes(input(v, m({ namespace: 'shop', name: 'shop', rule: 'x' }))),
      /has no rule "x"/,
    );
    assert.throws(
      () =>
        gatewayApiRoutes(
          input(
            v,
            m(
              { namespace: 'shop', name: 'shop', rule: 0 },
              { namespace: 'shop', name: 'shop', rule: 'cart' },
            ),
          ),
        ),
      /both map to rule 0/,
    );
  });
});

describe('istio', () => {
  const docs = istioVirtualServices(input());

  it('VirtualServices that validate against the Istio schema, with protobuf durations', () => {
    assert.equal(docs.length, 1);
    for (const { object } of docs) new VirtualService(object).validate();
    const http = (docs[0]?.object as { spec: { http: Record<string, unknown>[] } }).spec.http;
    const live = VIRTUAL_SERVICES.items[0]?.spec.http ?? [];
    assert.deepEqual(http[0], { ...live[0], timeout: '0.221s' });
    // attempts 3: perTryTimeout is the served value, timeout covers the four tries.
    assert.deepEqual(http[1]?.retries, {
      attempts: 3,
      retryOn: '5xx,connect-failure',
      perTryTimeout: '1.5s',
    });
    assert.equal(http[1]?.timeout, '6s');
    assert.deepEqual(http[2], live[2]);
    for (const r of http)
      if (typeof r.timeout === 'string') assert.match(r.timeout, PROTO_DURATION);
    const o = docs[0]?.object as Record<string, unknown>;
    assert.deepEqual(Object.keys(o.spec as object), ['http']);
    assert.deepEqual(o.metadata, { name: 'checkout', namespace: 'shop' });
  });
});

/**
 * The envoy.config.route.v3 fields the export writes, with their types, as
 * api/envoy/config/route/v3/route.proto and route_components.proto declare them (proto field
 * names, as Envoy's JSON/YAML loader takes them). There is no Envoy binary in Debian to load the
 * file with, so the structure is checked against this table; any other key is an error.
 */
const ENVOY_FIELDS: Record<string, Record<string, string>> = {
  RouteConfiguration: { name: 'string', virtual_hosts: 'VirtualHost[]' },
  VirtualHost: { name: 'string', domains: 'string[]', routes: 'Route[]' },
  Route: { name: 'string', match: 'RouteMatch', route: 'RouteAction' },
  RouteMatch: { prefix: 'string', path: 'string' },
  RouteAction: { cluster: 'string', timeout: 'Duration', retry_policy: 'RetryPolicy' },
  RetryPolicy: { retry_on: 'string', num_retries: 'uint32', per_try_timeout: 'Duration' },
};
/** oneof groups: at most one of these keys (RouteMatch.path_specifier needs exactly one). */
const ENVOY_ONEOF: Record<string, string[]> = { RouteMatch: ['prefix', 'path'] };
const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
]);

function checkEnvoy(type: string, value: unknown, path: string): void {
  if (type.endsWith('[]')) {
    assert.ok(Array.isArray(value), `${path}: a list`);
    value.forEach((v, i) => checkEnvoy(type.slice(0, -2), v, `${path}[${i}]`));
    return;
  }
  if (type === 'string') return assert.equal(typeof value, 'string', path);
  if (type === 'uint32') return assert.ok(Number.isInteger(value) && (value as number) >= 0, path);
  if (type === 'Duration') return assert.match(String(value), PROTO_DURATION, path);
  const fields = ENVOY_FIELDS[type];
  assert.ok(fields, `no field table for ${type}`);
  assert.ok(
    typeof value === 'object' && value !== null && !Array.isArray(value),
    `${path}: a message`,
  );
  for (const [k, v] of Object.entries(value)) {
    const t = fields[k];
    assert.ok(t, `${path}.${k} is not a field of envoy.config.route.v3.${type}`);
    checkEnvoy(t, v, `${path}.${k}`);
  }
  const oneof = ENVOY_ONEOF[type];
  if (oneof)
    assert.equal(oneof.filter((k) => k in value).length, 1, `${path}: one of ${oneof.join(', ')}`);
}

describe('envoy', () => {
  const config = envoyRouteConfiguration(input());

  it('a RouteConfiguration with only documented v3 fields and valid durations', () => {
    checkEnvoy('RouteConfiguration', config, 'RouteConfiguration');
    const text = renderExport('envoy', input());
    assert.deepEqual(parse(text), config);
    // Required by the protos' validation rules: a non-empty name and domains per virtual host.
    for (const vh of config.virtual_hosts) {
      assert.ok(vh.name.length > 0 && vh.domains.length > 0);
      for (const r of vh.routes) {
        for (const c of r.route.retry_policy?.retry_on.split(',') ?? [])
          assert.ok(RETRY_ON.has(c), c);
      }
    }
  });

  it('routes most specific first; timeout covers retries; no value → no timeout', () => {
    const shop = config.virtual_hosts.find((v) => v.name === 'shop');
    assert.deepEqual(
      shop?.routes.map((r) => r.match),
      [{ path: '/api/orders' }, { prefix: '/api/cart/' }],
    );
    assert.deepEqual(shop?.routes[0]?.route, {
      cluster: 'orders',
      timeout: '4.5s',
      retry_policy: {
        retry_on: 'connect-failure,refused-stream,reset,5xx',
        num_retries: 2,
        per_try_timeout: '1.5s',
      },
    });
    assert.deepEqual(shop?.routes[1]?.route, { cluster: 'checkout', timeout: '0.221s' });
    const catalog = config.virtual_hosts.find((v) => v.name === 'catalog');
    assert.deepEqual(catalog?.routes[0]?.route, { cluster: 'catalog' });
  });

  it('refuses two virtual hosts on one domain', () => {
    const m = parseMapping({
      endpoints: {
        a: { envoy: { virtualHost: 'one', prefix: '/a', cluster: 'a' } },
        b: { envoy: { virtualHost: 'two', prefix: '/b', cluster: 'b' } },
      },
    });
    const v: ServedValue[] = [
      { endpoint: 'a', servedMs: 1, status: 'fresh' },
      { endpoint: 'b', servedMs: 1, status: 'fresh' },
    ];
    assert.throws(() => envoyRouteConfiguration(input(v, m)), /both match domain \*/);
  });
});

describe('nginx, haproxy, json', () => {
  it('nginx: a location per mapped endpoint, proxy_read_timeout only where there is a value', () => {
    const text = renderExport('nginx', input());
    assert.match(
      text,
      /location \/api\/cart\/ \{\n {4}proxy_pass http:\/\/127\.0\.0\.1:8080;\n {4}proxy_read_timeout 221ms;\n\}/,
    );
    assert.match(
      text,
      /location = \/api\/orders \{\n {4}proxy_pass http:\/\/127\.0\.0\.1:8081\/v1;\n {4}proxy_read_timeout 1500ms;\n\}/,
    );
    assert.match(
      text,
      /location \/api\/products \{\n {4}proxy_pass http:\/\/127\.0\.0\.1:8083;\n\}/,
    );
    assert.doesNotMatch(text, /proxy_(connect|send)_timeout/);
    assert.doesNotMatch(text, /unmapped/);
  });

  it('haproxy: a backend per mapped endpoint with timeout server', () => {
    const text = renderExport('haproxy', input());
    assert.match(
      text,
      /backend checkout_cart\n.*\n {4}timeout server 221ms\n {4}server s1 127\.0\.0\.1:8080\n/,
    );
    assert.match(
      text,
      /backend orders\n.*\n {4}timeout server 1500ms\n {4}server s1 127\.0\.0\.1:8081\n {4}server s2 \[::1\]:8082\n/,
    );
    assert.match(text, /backend catalog\n.*\n {4}server s1 localhost:8083\n/);
  });

  it('json: every endpoint with its value, status and mapping', () => {
    const doc = JSON.parse(renderExport('json', input())) as {
      endpoints: Record<string, unknown>[];
    };
    assert.deepEqual(
      doc.endpoints.map((e) => [e.name, e.servedMs, e.status, e.route === null]),
      [
        ['checkout GET /api/cart/{id}', 221, 'fresh', false],
        ['checkout POST /api/orders', 1500, 'stale', false],
        ['catalog GET /api/products', null, 'never', false],
        ['unmapped', 75, 'fresh', true],
      ],
    );
    assert.deepEqual(doc.endpoints[0]?.route, MAPPING.endpoints['checkout GET /api/cart/{id}']);
  });
});

/** The output with every comment line removed (what the proxy reads besides comments). */
function withoutComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
}

describe('bad input: names and mapping values that would inject configuration, every format', () => {
  for (const format of EXPORT_FORMATS) {
    it(`${format}: a hostile endpoint name changes nothing but its own quoted text`, () => {
      for (const hostile of HOSTILE_NAMES) {
        const rename = (name: string) => ({
          values: VALUES.map((v) =>
            v.endpoint === 'checkout GET /api/cart/{id}' ? { ...v, endpoint: name } : v,
          ),
          mapping: parseMapping({
            endpoints: Object.fromEntries(
              Object.entries(MAPPING.endpoints).map(([k, e]) => [
                k === 'checkout GET /api/cart/{id}' ? name : k,
                e,
              ]),
            ),
          }),
        });
        const benign = rename('benign');
        const evil = rename(hostile);
        const a = renderExport(format, { ...benign, base: BASE });
        const b = renderExport(format, { ...evil, base: BASE });
        assert.ok(
          /^[\x20-\x7e\n]*$/.test(b),
          `${format}: output is printable ASCII for ${JSON.stringify(hostile)}`,
        );
        if (format === 'nginx' || format === 'haproxy') {
          // The name appears only in comments: without them the two files are the same bytes.
          assert.equal(withoutComments(b), withoutComments(a), JSON.stringify(hostile));
          assert.equal(b.split('\n').length, a.split('\n').length);
        } else if (format === 'json') {
          const doc = JSON.parse(b) as { endpoints: { name: string }[] };
          assert.equal(doc.endpoints[0]?.name, hostile);
          assert.equal(doc.endpoints.length, VALUES.length);
        } else {
          // YAML: same number of documents, equal data except the name where it is data (envoy route name).
          const docsA = parseAllDocuments(a).map((d) => d.toJS() as unknown);
          const docsB = parseAllDocuments(b).map((d) => d.toJS() as unknown);
          assert.equal(docsB.length, docsA.length);
          assert.deepEqual(
            JSON.parse(
              JSON.stringify(docsB).replaceAll(JSON.stringify(hostile).slice(1, -1), 'benign'),
            ),
            docsA,
          );
          assert.equal(
            withoutComments(b),
            withoutComments(a).replaceAll('"benign"', toYaml(hostile).trim()),
          );
        }
      }
    });
  }

  /** [format key, field, value] — each value must be refused by the mapping's allowlists. */
  const BAD_VALUES: [string, Record<string, unknown>, string][] = [];
  const hostileValues = ['a;b', 'a b', 'a{', 'a}', 'a"b', "a'b", 'a#b', 'a\nb', 'a$b', 'a\\b', ''];
  const targets: Record<string, Record<string, unknown>> = {
    gatewayApi: { namespace: 'shop', name: 'shop', rule: 'cart' },
    istio: { namespace: 'shop', name: 'checkout', route: 'cart' },
    envoy: {
      virtualHost: 'shop',
      domains: ['shop.example.com'],
      prefix: '/api/',
      cluster: 'checkout',
    },
    nginx: { location: '/api/', proxyPass: 'http://127.0.0.1:8080' },
    haproxy: { backend: 'checkout', servers: ['127.0.0.1:8080'] },
  };
  for (const [key, good] of Object.entries(targets)) {
    for (const field of Object.keys(good)) {
      for (const bad of hostileValues) {
        // "/x" + "" is a fine path: the empty value is hostile only where it is the whole value.
        if (bad === '' && ['prefix', 'location', 'proxyPass'].includes(field)) continue;
        const value =
          good[field] instanceof Array
            ? [`/${bad}`.slice(field === 'servers' || field === 'domains' ? 1 : 0)]
            : field === 'prefix' || field === 'location'
              ? `/x${bad}`
              : field === 'proxyPass'
                ? `http://h/${bad}`
                : bad;
        BAD_VALUES.push([
          key,
          { ...good, [field]: value },
          `${key}.${field}=${JSON.stringify(value)}`,
        ]);
      }
    }
  }

  it(`the mapping refuses ${BAD_VALUES.length} hostile values (every field of every format), naming the field`, () => {
    for (const [key, target, what] of BAD_VALUES) {
      // A rule given as a string of digits-only stays a name; a number 0..63 is an index: both safe.
      assert.throws(
        () => parseMapping({ endpoints: { e: { [key]: target } } }),
        (err: unknown) =>
          err instanceof InvalidConfigError && err.problems.some((p) => p.includes(`"${key}"`)),
        what,
      );
    }
  });

  it('and accepts the fixture mapping unchanged (the allowlists are not too strict)', () => {
    assert.doesNotThrow(() => parseMapping(JSON.parse(JSON.stringify(MAPPING)) as unknown));
  });
});

// The InfluxDB source on each schema's real line protocol (real influxd): windows, exact jaeger matches, hostile names, discovery, inspection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createInfluxSource, type InfluxOptions } from '../../src/sources/influxdb.ts';
import { influxdSkip, nowNs, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { jaegerLine, otel2022Line, otelLine, type SpanSpec } from '../helpers/span-lines.ts';

const WINDOW = { windowHours: 1, limit: 5000 };
const MS = 1_000_000n;

/** Hostile but valid names: quotes, backslashes, regex and InfluxQL syntax. */
const HOSTILE_SERVICE = `we'ird"svc\\x`;
const HOSTILE_SPAN = `GET /a\\b'"c/ OR 1=1 .*`;
const HOSTILE_ROUTE = `/r/"q"\\x<y>&{id}`;

describe('InfluxDB schema presets', { skip: influxdSkip() }, () => {
  let influx: Influxd;
  const t0 = nowNs() - 600_000n * MS; // ten minutes ago
  /** Spans of one (service, name, route) with durations 1..n ms, one second apart. */
  const spans = (n: number, s: Omit<SpanSpec, 'durationNs' | 'startNs'>): SpanSpec[] =>
    Array.from({ length: n }, (_, i) => ({
      ...s,
      durationNs: BigInt(i + 1) * MS,
      startNs: t0 + BigInt(i) * 1000n * MS,
    }));
  const all = [
    ...spans(5, { service: 'orders', name: 'GET /api/orders', route: '/api/orders' }),
    ...spans(3, { service: 'orders', name: 'POST /api/orders', route: '/api/orders' }),
    ...spans(4, { service: 'billing', name: 'GET /api/orders', route: '/api/bills/{id}' }),
    ...spans(2, { service: HOSTILE_SERVICE, name: HOSTILE_SPAN, route: HOSTILE_ROUTE }),
  ];

  before(async () => {
    influx = await startInfluxd();
    for (const db of ['jaeger', 'otel', 'otel2022']) await influx.createDatabase(db);
    await influx.writeLines('jaeger', [
      ...[7, 8, 9].map((ms, i) => jaegerLine('/api/x', BigInt(ms) * MS, t0 + BigInt(i) * MS)),
      jaegerLine('/api/x/y', 50n * MS, t0 + 10n * MS),
      jaegerLine(`/q'"\\p`, 3n * MS, t0 + 11n * MS),
    ]);
    await influx.writeLines('otel', all.map(otelLine));
    await influx.writeLines('otel2022', all.map(otel2022Line));
  });
  after(() => influx.stop());

  const source = (o: Partial<InfluxOptions>) => createInfluxSource({ url: influx.url, ...o });
  const durations = async (o: Partial<InfluxOptions>, endpoint: string) =>
    (await source(o).fetchWindow(endpoint, WINDOW)).durationsMs;

  it('jaeger: contains matches the prefixed values; exact adds the s: prefix', async () => {
    const db = { database: 'jaeger', schema: 'jaeger' } as const;
    assert.deepEqual(await durations(db, '/api/x'), [7, 8, 9, 50]);
    assert.deepEqual(await durations({ ...db, matchMode: 'exact' }, '/api/x'), [7, 8, 9]);
    assert.deepEqual(await durations({ ...db, matchMode: 'exact' }, `/q'"\\p`), [3]);
    assert.deepEqual(
      await durations({ ...db, matchMode: 'exact', tagPrefix: '' }, '/api/x'),
      [],
      'without the prefix an exact match misses the values Jaeger wrote',
    );
    assert.deepEqual(await source(db).discover?.(WINDOW), [`/api/x`, '/api/x/y', `/q'"\\p`]);
  });

  for (const [schema, database] of [
    ['otel', 'otel'],
    ['otel-2022', 'otel2022'],
  ] as const) {
    it(`${schema}: "<service.name> <span name>" selects exactly that span name of that service`, async () => {
      const o = { database, schema };
      assert.deepEqual(await durations(o, 'orders GET /api/orders'), [1, 2, 3, 4, 5]);
      assert.deepEqual(await durations(o, 'orders POST /api/orders'), [1, 2, 3]);
      assert.deepEqual(await durations(o, 'billing GET /api/orders'), [1, 2, 3, 4]);
      assert.deepEqual(await durations(o, `${HOSTILE_SERVICE} ${HOSTILE_SPAN}`), [1, 2]);
      assert.deepEqual(await durations(o, 'orders GET /api/order'), [], 'no partial matches');
      assert.deepEqual(await durations(o, "orders x' OR '1'='1"), []);
      assert.deepEqual(await durations(o, 'orders GET\n/api/orders'), [], 'a newline is escaped');
      assert.deepEqual(await durations(o, 'nospace'), []);
      assert.deepEqual(await source(o).discover?.(WINDOW), [
        'billing GET /api/orders',
        'orders GET /api/orders',
        'orders POST /api/orders',
        `${HOSTILE_SERVICE} ${HOSTILE_SPAN}`,
      ]);
    });

    it(`${schema}: naming route reads http.route (${schema === 'otel' ? 'inside the attributes JSON' : 'its own field'})`, async () => {
      const o = { database, schema, naming: 'route' } as const;
      assert.deepEqual(await durations(o, 'orders /api/orders'), [1, 1, 2, 2, 3, 3, 4, 5]);
      assert.deepEqual(await durations(o, 'billing /api/bills/{id}'), [1, 2, 3, 4]);
      assert.deepEqual(await durations(o, `${HOSTILE_SERVICE} ${HOSTILE_ROUTE}`), [1, 2]);
      assert.deepEqual(await durations(o, 'orders /api/order'), []);
      assert.deepEqual(await source(o).discover?.(WINDOW), [
        'billing /api/bills/{id}',
        'orders /api/orders',
        `${HOSTILE_SERVICE} ${HOSTILE_ROUTE}`,
      ]);
    });
  }

  it('otel read with the jaeger defaults finds nothing, and inspect says what is missing', async () => {
    const jaegerOnOtel = await source({ database: 'otel' }).inspect?.(
      ['orders GET /api/orders'],
      WINDOW,
    );
    assert.deepEqual(jaegerOnOtel?.samples, []);
    assert.match(
      jaegerOnOtel?.problems.join('\n') ?? '',
      /no measurement "span" in database "otel" \(it has: spans\)/,
    );
    const ok = await source({ database: 'otel', schema: 'otel' }).inspect?.([], WINDOW);
    assert.deepEqual(ok?.problems, []);
    assert.equal(ok?.samples.length, 4);
    assert.equal(ok?.queries.length, 4);
    assert.deepEqual(ok?.samples.find((s) => s.endpoint === 'orders GET /api/orders')?.count, 5);
  });
});

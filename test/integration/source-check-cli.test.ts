// `jit source check` as a user runs it (real CLI, real influxd): the query, the samples, and a non-zero exit naming what is missing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { influxdSkip, nowNs, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { killAll, runJit } from '../helpers/processes.ts';
import { otelLine } from '../helpers/span-lines.ts';

describe('jit source check', { skip: influxdSkip() }, () => {
  let influx: Influxd;
  before(async () => {
    influx = await startInfluxd();
    await influx.createDatabase('tracing');
    const t0 = nowNs() - 60_000_000_000n;
    await influx.writeLines(
      'tracing',
      [1, 2, 3].map((i) =>
        otelLine({
          service: 'orders',
          name: 'GET /api/orders',
          durationNs: BigInt(i) * 1_000_000n,
          startNs: t0 + BigInt(i) * 1_000_000n,
        }),
      ),
    );
  });
  after(async () => {
    await killAll();
    await influx.stop();
  });

  const check = (...args: string[]) =>
    runJit(['source', 'check', '--influx-url', influx.url, '--window-hours', '1', ...args]);

  it('prints the exact query and the samples per endpoint; exits 0', async () => {
    const r = await check('--influx-schema', 'otel', 'orders GET /api/orders');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /SELECT "duration_nano" FROM "spans" WHERE time >= now\(\) - 3600000ms AND "service.name" = 'orders' AND "span.name" = 'GET \/api\/orders' ORDER BY time DESC LIMIT 5000/,
    );
    assert.match(r.stdout, /\b3 {2}orders GET \/api\/orders\n/);
  });

  it('with no endpoints named, checks the discovered ones', async () => {
    const r = await check('--influx-schema', 'otel');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /samples per endpoint \(1\):\n\s+3 {2}orders GET \/api\/orders/);
  });

  const cases: [string, string[], RegExp][] = [
    ['database', ['--influx-db', 'nope'], /no database "nope" \(InfluxDB lists: .*tracing.*\)/],
    ['measurement', [], /no measurement "span" in database "tracing" \(it has: spans\)/],
    [
      'field',
      ['--influx-schema', 'otel', '--influx-field', 'latency'],
      /no field "latency" in measurement "spans"/,
    ],
    [
      'tag',
      ['--influx-measurement', 'spans', '--influx-field', 'duration_nano'],
      /no tag "http.url" in measurement "spans"/,
    ],
    [
      'service tag',
      ['--influx-schema', 'otel', '--influx-service-key', 'svc'],
      /no tag "svc" in measurement "spans"/,
    ],
    [
      'endpoint spans',
      ['--influx-schema', 'otel', 'orders GET /nothing'],
      /no spans for endpoint "orders GET \/nothing"/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`a missing ${what}: exits 1 naming it`, async () => {
      const r = await check(...args);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it('an InfluxDB that does not answer: exits 1 saying so', async () => {
    const r = await runJit([
      'source',
      'check',
      '--influx-url',
      'http://127.0.0.1:9',
      '--influx-timeout-ms',
      '2000',
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /latency source influxdb\(http:\/\/127\.0\.0\.1:9\) is unreachable/);
  });

  it('options of the other schema are refused with their flag (exit 2)', async () => {
    const r = await check('--influx-naming', 'route');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--influx-naming \(naming\): applies to the otel schemas only/);
  });
});

describe('jit source check on a source without inspect()', () => {
  after(() => killAll());
  it('says so and counts the samples through its windows', async () => {
    const r = await runJit(['source', 'check', '--source', 'seed-sample', 'customer']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /source seed-sample cannot show its queries/);
    assert.match(r.stdout, /\b522 {2}customer\n/);
  });
  it('with no endpoints named and nothing to discover: exits 1 saying so', async () => {
    const r = await runJit(['source', 'check', '--source', 'seed-sample']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no endpoints to check: name some after "check"/);
  });
});

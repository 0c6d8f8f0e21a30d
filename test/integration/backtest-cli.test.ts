// `jit backtest` as scripts call it: file and InfluxDB input, tables, JSON and HTML reports.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { influxdSkip, spanLine, startInfluxd } from '../helpers/influxd.ts';
import { runJit } from '../helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-backtest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000n * 1_000_000n; // ns
const METRICS = [
  'judged',
  'falseTimeoutRate',
  'worstRollingRate',
  'meanTimeoutMs',
  'medianTimeoutMs',
  'inflation',
  'pinballLoss',
  'overshootP99',
  'overshootMax',
];

/** Two endpoints, one request every 200 ms for 20 minutes; `slow` triples its latency after 12 min. */
function rows(): [bigint, string, number][] {
  const out: [bigint, string, number][] = [];
  for (let i = 0; i < 6000; i++) {
    const t = T0 + BigInt(i) * 200_000_000n;
    const base = 5 + ((i * 37) % 11);
    out.push([t, 'fast, "quoted"', base * 1e6]);
    out.push([t + 1000n, 'slow', (i > 3600 ? 3 : 1) * (20 + ((i * 53) % 31)) * 1e6]);
  }
  return out;
}

function csv(path: string): string {
  const lines = [
    'timestamp_ns,endpoint,duration_ns',
    ...rows().map(([t, e, d]) => `${t},"${e.replace(/"/g, '""')}",${d}`),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

interface Report {
  defaultStrategy: string;
  strategies: string[];
  alpha: number;
  overall: Record<string, Record<string, number>>;
  endpoints: {
    endpoint: string;
    judged: number;
    strategies: Record<string, Record<string, number>>;
  }[];
}

describe('jit backtest', () => {
  it('writes tables, a JSON report with every metric and an HTML report with a chart per endpoint', async () => {
    const input = csv(join(dir, 'in.csv'));
    const json = join(dir, 'out.json');
    const html = join(dir, 'out.html');
    const r = await runJit([
      'backtest',
      '--input',
      input,
      '--strategies',
      'sigma,quantile,adaptive',
      '--alpha',
      '0.01',
      '--recompute-s',
      '60',
      '--json',
      json,
      '--html',
      html,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /OVERALL/);
    assert.match(r.stdout, /adaptive \*/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    assert.equal(report.defaultStrategy, 'adaptive');
    assert.equal(report.alpha, 0.01);
    assert.deepEqual(Object.keys(report.overall), ['sigma', 'quantile', 'adaptive']);
    assert.deepEqual(report.endpoints.map((e) => e.endpoint).sort(), ['fast, "quoted"', 'slow']);
    for (const e of report.endpoints) {
      // 20 min of requests, the first minute is warm-up.
      assert.ok(e.judged > 5000 && e.judged < 6000, `${e.endpoint}: ${e.judged}`);
      for (const s of ['sigma', 'quantile', 'adaptive']) {
        for (const m of METRICS)
          assert.equal(typeof e.strategies[s]?.[m], 'number', `${e.endpoint}.${s}.${m}`);
      }
    }
    for (const m of METRICS) assert.equal(typeof report.overall.adaptive?.[m], 'number');
    // The latency shift makes the original's mean + 2·sd cut far more than the calibrated quantile.
    assert.ok(
      (report.overall.sigma?.falseTimeoutRate ?? 0) >
        (report.overall.adaptive?.falseTimeoutRate ?? 1),
    );
    const page = readFileSync(html, 'utf8');
    // One uPlot chart per endpoint, its data inline (the browser test draws them: test/browser).
    assert.equal(page.match(/<script type="application\/json" class="chart-data"/g)?.length, 2);
    assert.match(page, /fast, &quot;quoted&quot;/);
    assert.match(page, /var uPlot=function/, 'uPlot is inlined');
    assert.doesNotMatch(page, /(src|href)=["']?(https?:)?\/\//i, 'no external assets');
  });

  it('compares every non-neural strategy when none are named, and reads JSON lines alike', async () => {
    const jsonl = join(dir, 'in.jsonl');
    writeFileSync(
      jsonl,
      rows()
        .map(([t, e, d]) =>
          JSON.stringify({ timestamp_ns: String(t), endpoint: e, duration_ns: d }),
        )
        .join('\n'),
    );
    const fromCsv = join(dir, 'a.json');
    const fromJsonl = join(dir, 'b.json');
    const a = await runJit([
      'backtest',
      '--input',
      csv(join(dir, 'in2.csv')),
      '--quiet',
      '--json',
      fromCsv,
    ]);
    const b = await runJit(['backtest', '--input', jsonl, '--quiet', '--json', fromJsonl]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const ra = JSON.parse(readFileSync(fromCsv, 'utf8')) as Report;
    assert.deepEqual([...ra.strategies].sort(), ['adaptive', 'quantile', 'rto', 'sigma']);
    assert.deepEqual(JSON.parse(readFileSync(fromJsonl, 'utf8')), ra);
  });

  it('refuses bad input with a clear message and exit code 2', async () => {
    const missing = await runJit(['backtest', '--input', join(dir, 'nope.csv')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.csv/);
    const unknown = await runJit([
      'backtest',
      '--input',
      csv(join(dir, 'in3.csv')),
      '--strategies',
      'sigma,bogus',
      '--alpha',
      '7',
    ]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown strategy "bogus"/);
    assert.match(unknown.stderr, /--alpha/);
    const neither = await runJit(['backtest']);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /--input FILE or --influx-url/);
  });

  it('refuses a file with the wrong columns, keys or values up front: one line, exit 2', async () => {
    for (const [name, text, message] of [
      // The issue's case: another CSV (here the fault list next to the sample traces).
      [
        'faults.csv',
        'inject_time_utc,inject_epoch_s,inject_pod\n2023-01-29 08:43:04,1674981784,ts-a\n',
        /faults\.csv: line 1 .* is not a header naming endpoint and duration_ns/,
      ],
      ['headerless.csv', `${T0},a,5000000\n`.repeat(300), /line 1 .* is not a header/],
      [
        'ms.csv',
        `timestamp_ns,endpoint,duration_ns\n${`${T0},a,12ms\n`.repeat(300)}`,
        /line 2: duration_ns "12ms" is not a non-negative number of nanoseconds/,
      ],
      [
        'keys.jsonl',
        `${JSON.stringify({ ts: 1, endpoint: 'a', duration_ms: 5 })}\n`.repeat(300),
        /line 1: JSON object without "duration_ns"/,
      ],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, text);
      const r = await runJit(['backtest', '--input', path, '--strategies', 'sigma']);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, '', `${name}: no tables`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, message, name);
    }
  });

  it('says so and exits non-zero when nothing could be judged', async () => {
    const path = join(dir, 'short.csv');
    // 40 requests per endpoint: never the 50 of the warm-up.
    writeFileSync(
      path,
      `timestamp_ns,endpoint,duration_ns\n${rows()
        .slice(0, 80)
        .map(([t, e, d]) => `${t},"${e.replace(/"/g, '""')}",${d}`)
        .join('\n')}\n`,
    );
    const json = join(dir, 'short.json');
    const r = await runJit(['backtest', '--input', path, '--json', json]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '', 'no tables of zeros');
    assert.match(
      r.stderr,
      /nothing judged: .*--warmup 50 requests; the longest endpoint .* has 40 requests/,
    );
    assert.throws(() => readFileSync(json), /ENOENT/);
  });

  it('reports a bad --html or --json path before the run, not after it', async () => {
    const input = csv(join(dir, 'in4.csv'));
    for (const [flag, path, message] of [
      [
        '--html',
        join(dir, 'no-such-dir', 'r.html'),
        /the directory .*no-such-dir does not exist \(--html\)/,
      ],
      ['--json', dir, /it is a directory \(--json\)/],
    ] as const) {
      const started = Date.now();
      // seed would take minutes on this input: the refusal must come before any replay.
      const r = await runJit(['backtest', '--input', input, '--strategies', 'seed', flag, path]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
      assert.ok(Date.now() - started < 15_000, `refused after ${Date.now() - started} ms`);
    }
  });

  it('writes no progress when quiet, and no progress lines for a run shorter than 10 s', async () => {
    const input = csv(join(dir, 'in5.csv'));
    const quiet = await runJit(['backtest', '--input', input, '--strategies', 'sigma', '--quiet']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /%/);
    const plain = await runJit(['backtest', '--input', input, '--strategies', 'sigma']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stderr, /elapsed|\r/);
  });

  it('reads its input from InfluxDB', { skip: influxdSkip() }, async () => {
    const influx = await startInfluxd();
    try {
      await influx.createDatabase('tracing');
      // Recent spans (the query reads the last --range-hours): one every 100 ms for 10 minutes.
      const now = BigInt(Date.now()) * 1_000_000n;
      const lines: string[] = [];
      for (let i = 0; i < 6000; i++)
        lines.push(
          spanLine('/api/orders', (10 + (i % 7)) * 1e6, now - BigInt(6000 - i) * 100_000_000n),
        );
      await influx.writeLines('tracing', lines);
      const endpoints = join(dir, 'endpoints.config');
      writeFileSync(endpoints, '/api/orders\n/api/none\n');
      const json = join(dir, 'influx.json');
      const r = await runJit([
        'backtest',
        '--influx-url',
        influx.url,
        '--endpoints',
        endpoints,
        '--range-hours',
        '1',
        '--strategies',
        'quantile',
        '--alpha',
        '0.01',
        '--quiet',
        '--json',
        json,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(readFileSync(json, 'utf8')) as Report & { records: number };
      assert.equal(report.records, 6000);
      assert.deepEqual(
        report.endpoints.map((e) => e.endpoint),
        ['/api/orders'],
      );
      // Durations cycle through 10..16 ms: the served p99 is ceil(16 · 1.1) = 18 ms, never exceeded.
      assert.equal(report.overall.quantile?.falseTimeoutRate, 0);
      assert.equal(report.overall.quantile?.medianTimeoutMs, 18);
    } finally {
      await influx.stop();
    }
  });
});

// Thousands of hostile endpoint names against a real influxd: each query answers only that name's spans.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInfluxSource } from '../../src/sources/influxdb.ts';
import { influxdSkip, spanLine, startInfluxd } from '../helpers/influxd.ts';

const COUNT = 2000;
const ALPHABET = [
  ...'/\\\'"`.*+?()[]{}|^$=,;: -_%&#!~<>@',
  ...'abcxyzABC0129',
  'é',
  'ü',
  '中',
  '🙂',
  '\u200b',
];

/** Deterministic hostile names: metacharacters, quotes, escapes, InfluxQL keywords, unicode. */
function hostileNames(n: number): string[] {
  let seed = 7;
  const rnd = (k: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % k;
  const fixed = [
    "' OR 1=1 --",
    '"; DROP DATABASE tracing; --',
    '/ OR time > 0 /',
    '.*',
    '.+',
    '^',
    '$',
    '\\/',
    '\\\\',
    "x' AND \"http.url\" =~ /.*/ AND 'a'='a",
    'SELECT * FROM span',
    ') OR (1=1',
    '\\x41',
    '(?i)customer',
  ];
  const names = new Set(fixed.map((f, i) => `${f}#${i}#`));
  while (names.size < n) {
    const len = 1 + rnd(24);
    let s = '';
    for (let i = 0; i < len; i++) s += ALPHABET[rnd(ALPHABET.length)];
    // A unique, delimited suffix (#12#: never inside #123#) keeps every name from containing
    // another one by accident ("contains" mode); the
    // line protocol cannot store a tag value ending in a backslash, and trim() is what names get.
    const name = `${s}#${names.size}#`.trim();
    names.add(name);
  }
  return [...names];
}

describe('InfluxQL fuzz: hostile endpoint names', { skip: influxdSkip() }, () => {
  it(`${COUNT} names each get exactly their own spans, and no query fails`, async () => {
    const influx = await startInfluxd();
    try {
      await influx.createDatabase('tracing');
      const names = hostileNames(COUNT);
      const now = BigInt(Date.now()) * 1_000_000n;
      // Every name gets two spans with durations unique to it (ms: 1000 + 2i and 1001 + 2i).
      const lines = names.flatMap((name, i) => [
        spanLine(name, (1000 + 2 * i) * 1e6, now - BigInt(i) * 1000n),
        spanLine(name, (1001 + 2 * i) * 1e6, now - BigInt(i) * 1000n - 1n),
      ]);
      for (let i = 0; i < lines.length; i += 5000)
        await influx.writeLines('tracing', lines.slice(i, i + 5000));
      for (const matchMode of ['contains', 'exact'] as const) {
        const source = createInfluxSource({ url: influx.url, database: 'tracing', matchMode });
        const failures: string[] = [];
        for (const [i, name] of names.entries()) {
          try {
            const w = await source.fetchWindow(name, { windowHours: 1, limit: 5000 });
            const got = w.durationsMs.map((d) => Math.round(d)).sort((a, b) => a - b);
            const want = [1000 + 2 * i, 1001 + 2 * i];
            if (JSON.stringify(got) !== JSON.stringify(want))
              failures.push(`${JSON.stringify(name)}: ${JSON.stringify(got)}`);
          } catch (err) {
            failures.push(`${JSON.stringify(name)}: ${(err as Error).message}`);
          }
        }
        assert.deepEqual(
          failures.slice(0, 10),
          [],
          `${matchMode}: ${failures.length} names failed`,
        );
      }
    } finally {
      await influx.stop();
    }
  });
});

// The compose demo's span generator: line protocol as the worker reads it, realistic latency, config.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configFromEnv } from '../../examples/span-generator/main.ts';
import {
  PROFILES,
  escapeTagValue,
  generateSpans,
  prng,
  sampleMs,
  slowdownAt,
  spanLine,
} from '../../examples/span-generator/spans.ts';

const NO_INCIDENT = { periodMs: 0, durationMs: 0, factor: 1 };

/** A line-protocol line `span,<tags> duration=<int>i <ns>` split into its parts. */
function parseLine(line: string): {
  tags: Record<string, string>;
  durationNs: bigint;
  timeNs: bigint;
} {
  const m = /^span,((?:[^ \\]|\\.)+) duration=(\d+)i (\d+)$/.exec(line);
  assert.ok(m, line);
  const tags: Record<string, string> = {};
  for (const pair of (m[1] as string).split(/(?<!\\),/)) {
    const [k, v] = pair.split(/(?<!\\)=/) as [string, string];
    tags[k] = v.replace(/\\(.)/g, '$1');
  }
  return { tags, durationNs: BigInt(m[2] as string), timeNs: BigInt(m[3] as string) };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

describe('span generator', () => {
  it('writes measurement span, tag http.url, integer field duration in ns, ns timestamps', () => {
    const lines = generateSpans(1_700_000_000_000, 1_700_000_001_000, {
      ratePerSecond: 50,
      rand: prng(7),
      incident: NO_INCIDENT,
    });
    assert.ok(lines.length > 100);
    for (const line of lines) {
      const { tags, durationNs, timeNs } = parseLine(line);
      assert.ok(
        PROFILES.some((p) => tags['http.url']?.includes(p.name)),
        tags['http.url'],
      );
      assert.equal(tags['service.name'], 'frontend');
      assert.ok(durationNs > 0n);
      assert.ok(timeNs >= 1_700_000_000_000_000_000n && timeNs < 1_700_000_001_000_000_000n);
    }
  });

  it('escapes commas, spaces and equals signs in tag values', () => {
    assert.equal(escapeTagValue('a b,c=d'), 'a\\ b\\,c\\=d');
    const p = PROFILES[0];
    assert.ok(p);
    const line = spanLine(p, 'http://x/?a=1,b=2 3', 12.5, 5n);
    assert.deepEqual(parseLine(line).tags['http.url'], 'http://x/?a=1,b=2 3');
    assert.equal(parseLine(line).durationNs, 12_500_000n);
  });

  it('is reproducible with a seed', () => {
    const o = () => ({ ratePerSecond: 20, rand: prng(42), incident: NO_INCIDENT });
    assert.deepEqual(generateSpans(0, 5000, o()), generateSpans(0, 5000, o()));
  });

  it('has each profile’s median and a heavy tail', () => {
    for (const p of PROFILES) {
      const rand = prng(3);
      const xs = Array.from({ length: 20_000 }, () => sampleMs(p, rand));
      const median = quantile(xs, 0.5);
      assert.ok(Math.abs(median / p.medianMs - 1) < 0.1, `${p.name}: median ${median}`);
      assert.ok(quantile(xs, 0.999) > 1.5 * quantile(xs, 0.99), `${p.name}: tail`);
      assert.ok(quantile(xs, 0.999) > 3 * p.medianMs, `${p.name}: p99.9`);
    }
  });

  it('slows one endpoint at a time during incidents', () => {
    const incident = { periodMs: 300_000, durationMs: 60_000, factor: 4 };
    const [a, b] = PROFILES as [(typeof PROFILES)[0], (typeof PROFILES)[0]];
    assert.equal(slowdownAt(a, 10_000, incident), 4);
    assert.equal(slowdownAt(b, 10_000, incident), 1);
    assert.equal(slowdownAt(a, 100_000, incident), 1);
    assert.equal(slowdownAt(b, 310_000, incident), 4);
    assert.equal(slowdownAt(a, 10_000, NO_INCIDENT), 1);
  });

  it('reads SPANGEN_* variables, with defaults', () => {
    const d = configFromEnv({});
    assert.equal(d.influxUrl, 'http://127.0.0.1:8086');
    assert.equal(d.db, 'tracing');
    assert.equal(d.ratePerSecond, 20);
    assert.equal(d.backfillMinutes, 30);
    const c = configFromEnv({
      SPANGEN_INFLUX_URL: 'http://influxdb:8086/',
      SPANGEN_DB: 'spans',
      SPANGEN_RATE: '5',
      SPANGEN_BACKFILL_MINUTES: '0',
      SPANGEN_INCIDENT_EVERY_S: '0',
      SPANGEN_SEED: '9',
    });
    assert.deepEqual(
      [c.influxUrl, c.db, c.ratePerSecond, c.backfillMinutes, c.incident.periodMs, c.seed],
      ['http://influxdb:8086', 'spans', 5, 0, 0, 9],
    );
    assert.throws(() => configFromEnv({ SPANGEN_RATE: 'fast' }), /SPANGEN_RATE/);
  });
});

// Checks around a run: report paths before it; a run in which nothing was judged is refused, not passed off as a result.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NothingJudgedError, OutputNotWritableError } from '../core/errors.ts';
import { DEFAULT_SERVING } from '../core/serving.ts';
import { assertJudged, assertWritable } from './checks.ts';
import { runBacktest, type BacktestOptions } from './run.ts';

const opts: BacktestOptions = {
  alpha: 0.01,
  recomputeMs: 60_000,
  recomputeEvery: undefined,
  windowHours: 48,
  windowLimit: 5000,
  warmupCount: 50,
  serving: { ...DEFAULT_SERVING },
  censor: false,
  strategies: ['sigma'],
  defaultStrategy: 'sigma',
};

/** One request per second for `seconds`. */
const series = (endpoint: string, seconds: number, timestamps = true) => ({
  endpoint,
  timestampsMs: timestamps
    ? Float64Array.from({ length: seconds }, (_, i) => 1_000_000 + i * 1000)
    : undefined,
  durationsMs: Float64Array.from({ length: seconds }, () => 5),
});

describe('assertJudged', () => {
  it('passes when any endpoint was judged', async () => {
    const s = [series('long', 180), series('short', 10)];
    const { report } = await runBacktest(s, opts);
    assertJudged(report, s);
  });

  it('throws NothingJudgedError naming the warm-up and the longest endpoint', async () => {
    // 59 s of requests: the first recompute point (60 s) is never reached.
    const s = [series('a', 59), series('b', 20)];
    const { report } = await runBacktest(s, opts);
    assert.throws(
      () => assertJudged(report, s),
      (err: unknown) =>
        err instanceof NothingJudgedError &&
        err.code === 'NOTHING_JUDGED' &&
        /every 60 s of trace time.*--warmup 50 requests; the longest endpoint \("a"\) has 59 requests over 58\.0 s/.test(
          err.message,
        ),
    );
    const byCount = [series('c', 40, false)];
    const r = await runBacktest(byCount, opts);
    assert.throws(
      () => assertJudged(r.report, byCount),
      /every 100 requests.*\("c"\) has 40 requests$/,
    );
  });
});

const dir = mkdtempSync(join(tmpdir(), 'jit-checks-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('assertWritable', () => {
  it('accepts a new file in an existing directory and an existing file', () => {
    assertWritable(join(dir, 'report.json'), '--json');
    const existing = file('old.json', 'old');
    assertWritable(existing, '--json');
  });

  it('refuses a missing directory, a directory, and a file as directory, naming the flag', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const notDir = file('x', 'x');
    for (const [path, reason] of [
      [join(dir, 'missing', 'r.html'), /the directory .*missing does not exist \(--html\)/],
      [sub, /it is a directory \(--html\)/],
      [join(notDir, 'r.html'), /is not a directory \(--html\)/],
    ] as const) {
      assert.throws(
        () => assertWritable(path, '--html'),
        (err: unknown) =>
          err instanceof OutputNotWritableError &&
          err.code === 'OUTPUT_NOT_WRITABLE' &&
          reason.test(err.message),
        path,
      );
    }
  });
});

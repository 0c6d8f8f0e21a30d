// The backtest's progress report: a bar on a terminal, periodic lines otherwise, nothing when quiet.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { createProgress, formatDuration, type ProgressStream } from './progress.ts';

function sink(isTTY: boolean): ProgressStream & { text: string } {
  const s = {
    isTTY,
    columns: 80,
    text: '',
    write(t: string) {
      s.text += t;
      return true;
    },
  };
  return s;
}

describe('createProgress', () => {
  it('without a terminal writes one line per interval, only when something moved', () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'] });
    try {
      const out = sink(false);
      const p = createProgress({ stream: out, intervalMs: 10_000, now: Date.now });
      p.update(0, 1000, 'replaying "a"');
      assert.equal(out.text, '', 'no line before the first interval');
      mock.timers.tick(5000);
      p.update(250, 1000, 'replaying "a"');
      mock.timers.tick(5000);
      assert.equal(out.text, 'jit backtest:  25% replaying "a" (10 s elapsed, about 30 s left)\n');
      mock.timers.tick(10_000); // nothing new: no line
      assert.equal((out.text as string).split('\n').length, 2);
      p.update(500, 1000, 'replaying "b"');
      mock.timers.tick(10_000);
      assert.match(
        out.text,
        /\njit backtest: {2}50% replaying "b" \(30 s elapsed, about 30 s left\)\n$/,
      );
      p.finish();
      p.update(900, 1000, 'replaying "b"');
      mock.timers.tick(60_000);
      assert.equal((out.text as string).split('\n').length, 3, 'no line after finish()');
    } finally {
      mock.timers.reset();
    }
  });

  it('on a terminal redraws one bar in place and ends it with a newline', () => {
    let t = 0;
    const out = sink(true);
    const p = createProgress({ stream: out, now: () => t, redrawMs: 100 });
    p.update(0, 100, 'reading in.csv');
    t = 50;
    p.update(10, 100, 'reading in.csv'); // within 100 ms of the last draw: not drawn
    t = 200;
    p.update(50, 100, 'reading in.csv');
    const draws = out.text.split('\r').filter(Boolean);
    assert.equal(draws.length, 2);
    assert.match(draws[1] ?? '', /^\[#{12}\.{12}\] {2}50% reading in\.csv/);
    assert.ok(
      draws.every((d) => d.length === 79),
      'each draw is padded to the width',
    );
    assert.ok(!out.text.includes('\n'));
    p.note('jit backtest: skipped 1 unreadable lines');
    assert.match(out.text, /\r {79}\rjit backtest: skipped 1 unreadable lines\n\r\[/);
    p.update(100, 100, 'reading in.csv'); // the end is always drawn
    p.finish();
    assert.match(out.text, /\[#{24}\] 100% reading in\.csv *\r\[#{24}\] 100% reading in\.csv *\n$/);
  });

  it('writes nothing when quiet, not even on a terminal, but notes still go out', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      for (const tty of [true, false]) {
        const out = sink(tty);
        const p = createProgress({ stream: out, quiet: true });
        p.update(1, 2, 'x');
        mock.timers.tick(60_000);
        p.finish();
        assert.equal(out.text, '');
        p.note('warning');
        assert.equal(out.text, 'warning\n');
      }
    } finally {
      mock.timers.reset();
    }
  });

  it('formats durations', () => {
    assert.equal(formatDuration(0), '0 s');
    assert.equal(formatDuration(42_400), '42 s');
    assert.equal(formatDuration(65_000), '1 min 05 s');
  });
});

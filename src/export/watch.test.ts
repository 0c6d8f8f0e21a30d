// --watch's parts: the hysteresis on served values and the atomic write.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ServedValue } from './types.ts';
import { Hysteresis, runCommand, writeAtomic } from './watch.ts';

const v = (endpoint: string, servedMs: number | null): ServedValue => ({
  endpoint,
  servedMs,
  status: servedMs === null ? 'never' : 'fresh',
});

describe('Hysteresis', () => {
  it('the first values are a change; moves within min-change keep the written value', () => {
    const h = new Hysteresis(0.2);
    assert.deepEqual(h.apply([v('a', 100), v('b', 1000)]).changes, ['first values']);
    const small = h.apply([v('a', 105), v('b', 950)]);
    assert.deepEqual(small.changes, []);
    // The values to write are the ones written before, not the wiggle.
    assert.deepEqual(
      small.values.map((x) => x.servedMs),
      [100, 1000],
    );
  });

  it('a move past min-change is written; drift is measured against the written value', () => {
    const h = new Hysteresis(0.2);
    h.apply([v('a', 100)]);
    // 100 → 110 → 119 → 121: each step < 20 % of the previous poll, the last > 20 % of 100.
    assert.deepEqual(h.apply([v('a', 110)]).changes, []);
    assert.deepEqual(h.apply([v('a', 119)]).changes, []);
    const r = h.apply([v('a', 121)]);
    assert.deepEqual(r.changes, ['"a" 100 → 121 ms']);
    assert.equal(r.values[0]?.servedMs, 121);
    // Exactly 20 % is not more than 20 %.
    assert.deepEqual(h.apply([v('a', 121 * 0.8)]).changes, []);
    assert.equal(h.apply([v('a', 96)]).changes.length, 1);
  });

  it('endpoints appearing, disappearing, getting or losing a value always count', () => {
    const h = new Hysteresis(10);
    h.apply([v('a', 100), v('b', null)]);
    assert.deepEqual(h.apply([v('a', 100), v('b', 50), v('c', 7)]).changes, [
      '"b" none → 50 ms',
      '"c" added',
    ]);
    assert.deepEqual(h.apply([v('b', 50), v('c', null)]).changes, [
      '"c" 7 → none ms',
      '"a" removed',
    ]);
  });

  it('min-change 0: any difference is written', () => {
    const h = new Hysteresis(0);
    h.apply([v('a', 100)]);
    assert.deepEqual(h.apply([v('a', 100)]).changes, []);
    assert.equal(h.apply([v('a', 101)]).changes.length, 1);
  });
});

describe('writeAtomic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-export-watch-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces the file whole and leaves no temporary file', () => {
    const file = join(dir, 'out.conf');
    writeFileSync(file, 'old\n');
    writeAtomic(file, 'new\n');
    assert.equal(readFileSync(file, 'utf8'), 'new\n');
    assert.deepEqual(readdirSync(dir), ['out.conf']);
  });

  it('fails without touching the target when the directory cannot be written', () => {
    assert.throws(() => writeAtomic(join(dir, 'missing', 'out.conf'), 'x'), { code: 'ENOENT' });
  });

  it('runCommand answers the exit code of the shell command', async () => {
    assert.equal(await runCommand('exit 0'), 0);
    assert.equal(await runCommand('exit 3'), 3);
  });
});

// Backtest input: the format checked up front (header, keys, first record), later bad lines skipped.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidInputFileError } from '../core/errors.ts';
import { inspectInput, readRecords } from './input.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const p = join(dir, `in-${n++}.txt`);
  writeFileSync(p, text);
  return p;
}

/** Asserts that `inspectInput` refuses the file with one line matching `message`. */
async function refused(text: string, message: RegExp): Promise<void> {
  await assert.rejects(inspectInput(file(text)), (err: unknown) => {
    assert.ok(err instanceof InvalidInputFileError, String(err));
    assert.equal(err.code, 'INVALID_INPUT_FILE');
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.match(err.message, message);
    return true;
  });
}

describe('inspectInput', () => {
  it('accepts the documented CSV and JSON lines, with or without timestamps', async () => {
    const csv = await inspectInput(file('timestamp_ns,endpoint,duration_ns\n1000,a,5000000\n'));
    assert.deepEqual(csv, {
      format: 'csv',
      columns: { ts: 0, endpoint: 1, duration: 2 },
      timestamps: true,
    });
    // Columns in any order, extra columns, a byte-order mark, comments and blank lines.
    const reordered = await inspectInput(
      file('\uFEFF# export\n\nDuration_NS,host,Endpoint,timestamp_ns\n5,h,"a, b",7\n'),
    );
    assert.deepEqual(reordered.columns, { ts: 3, endpoint: 2, duration: 0 });
    const noTime = await inspectInput(file('endpoint,duration_ns\na,5\n'));
    assert.equal(noTime.timestamps, false);
    const jsonl = await inspectInput(
      file('{"timestamp_ns":"17","endpoint":"a","duration_ns":5}\n'),
    );
    assert.deepEqual(jsonl, { format: 'jsonl', columns: undefined, timestamps: true });
  });

  it('refuses a CSV without the header (wrong columns, or no header at all)', async () => {
    await refused(
      'time,service,latency_ms\n1,a,5\n',
      /line 1 \("time,service,latency_ms"\) is not a header naming endpoint and duration_ns/,
    );
    await refused('1000,a,5000000\n', /line 1 .* is not a header/);
    await refused('[1, 2, 3]\n', /line 1 .* is not a header/);
  });

  it('refuses non-numeric values in the first record', async () => {
    await refused(
      'timestamp_ns,endpoint,duration_ns\n1000,a,12ms\n',
      /line 2: duration_ns "12ms" is not a non-negative number/,
    );
    await refused('timestamp_ns,endpoint,duration_ns\n1000,a,-5\n', /line 2: duration_ns "-5"/);
    await refused(
      'timestamp_ns,endpoint,duration_ns\n2023-01-29T08:43:04Z,a,5\n',
      /line 2: timestamp_ns "2023-01-29T08:43:04Z" is not a number of nanoseconds/,
    );
    await refused('timestamp_ns,endpoint,duration_ns\n1000,,5\n', /line 2: no endpoint/);
  });

  it('refuses JSON lines missing keys, with the keys they have', async () => {
    await refused(
      '{"ts":1,"endpoint":"a","dur":5}\n',
      /line 1: JSON object without "duration_ns" \(its keys: ts, endpoint, dur\)/,
    );
    await refused('{"duration_ns":5}\n', /JSON object without "endpoint"/);
    await refused('{"endpoint":"a", \n', /line 1: invalid JSON/);
  });

  it('refuses an empty file and a header without records', async () => {
    await refused('', /no records; expected a CSV/);
    await refused('# nothing\n\n', /no records/);
    await refused('timestamp_ns,endpoint,duration_ns\n', /no records after the header/);
  });
});

describe('readRecords', () => {
  it('skips and counts unreadable lines after the first record, and reads the rest', async () => {
    const r = await readRecords(
      file(
        'timestamp_ns,endpoint,duration_ns\n' +
          '1000000,a,5000000\n' +
          '2000000,a,oops\n' +
          '3000000,b,7000000\n' +
          '2500000,a,6000000\n',
      ),
    );
    assert.equal(r.records, 3);
    assert.equal(r.skippedCount, 1);
    assert.deepEqual(r.skipped, [
      { line: 3, reason: 'duration_ns "oops" is not a non-negative number of nanoseconds' },
    ]);
    const a = r.series.find((s) => s.endpoint === 'a');
    assert.deepEqual([...(a?.durationsMs ?? [])], [5, 6]);
    assert.deepEqual([...(a?.timestampsMs ?? [])], [1, 2.5]);
  });

  it('refuses a bad file before reading it', async () => {
    await assert.rejects(readRecords(file('a;b;c\n1;2;3\n')), InvalidInputFileError);
  });

  it('reports its progress in bytes of the file', async () => {
    const text = 'endpoint,duration_ns\n' + 'a,5\n'.repeat(70_000);
    const seen: [number, number][] = [];
    await readRecords(file(text), (b, total) => seen.push([b, total]));
    assert.ok(seen.length >= 2);
    assert.deepEqual(seen.at(-1), [text.length, text.length]);
    assert.ok(seen.every(([b, t]) => b <= t && t === text.length));
  });
});

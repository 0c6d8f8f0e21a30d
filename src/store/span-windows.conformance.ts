// Shared conformance suite every SpanWindows must pass (run for the memory and SQLite windows).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidWindowEntryError } from '../core/errors.ts';
import type { SpanWindows, WindowEntry } from './span-window-types.ts';

/** What a test asks of a new instance; the factory maps it onto the implementation's options. */
export interface WindowsFactoryOptions {
  now: () => number;
  limit?: number;
  maxAgeMs?: number;
}

export const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;

export function entry(
  endpoint: string,
  startMs: number,
  durationMs: number,
  failed = false,
): WindowEntry {
  return { endpoint, startMs, durationMs, failed };
}

const ALL = { limit: 1_000_000, sinceMs: 0 };

export function spanWindowsConformance(
  name: string,
  make: (opts: WindowsFactoryOptions) => SpanWindows,
): void {
  describe(`SpanWindows conformance: ${name}`, () => {
    it('reads oldest first, with durations, start times and failed flags as appended', async () => {
      const w = make({ now: () => T0 });
      await w.append([
        entry('a', T0 - 3000, 12.5),
        entry('b', T0 - 2500, 7, true),
        entry('a', T0 - 2000, 30, true),
        entry('a', T0 - 1000, 0.25),
      ]);
      assert.deepEqual(w.read('a', ALL), {
        durationsMs: [12.5, 30, 0.25],
        timestampsMs: [T0 - 3000, T0 - 2000, T0 - 1000],
        failed: [false, true, false],
      });
      assert.deepEqual(w.read('b', ALL), {
        durationsMs: [7],
        timestampsMs: [T0 - 2500],
        failed: [true],
      });
      assert.deepEqual(w.read('nobody', ALL), { durationsMs: [], timestampsMs: [], failed: [] });
      assert.deepEqual(w.endpoints().sort(), ['a', 'b']);
      await w.close();
    });

    it('keeps the most recent `limit` by start time, whatever the order of arrival', async () => {
      const w = make({ now: () => T0, limit: 100 });
      // 300 entries, shuffled deterministically (a late batch among on-time ones).
      const starts = Array.from({ length: 300 }, (_, i) => T0 - 300_000 + i * 1000);
      const order = starts.map((_, i) => (i * 7919) % 300);
      for (let k = 0; k < 300; k += 50) {
        await w.append(
          order.slice(k, k + 50).map((i) => entry('a', starts[i] as number, i + 1, i % 3 === 0)),
        );
      }
      const r = w.read('a', ALL);
      assert.deepEqual(r.timestampsMs, starts.slice(200));
      assert.deepEqual(
        r.durationsMs,
        starts.slice(200).map((_, j) => 200 + j + 1),
      );
      assert.deepEqual(
        r.failed,
        starts.slice(200).map((_, j) => (200 + j) % 3 === 0),
      );
      await w.close();
    });

    it('a late entry lands in its place; one older than a full window is dropped', async () => {
      const w = make({ now: () => T0, limit: 3 });
      await w.append([entry('a', T0 - 100, 1), entry('a', T0 - 50, 3), entry('a', T0 - 10, 4)]);
      await w.append([entry('a', T0 - 70, 2)]); // late, but among the 3 most recent
      assert.deepEqual(w.read('a', ALL).durationsMs, [2, 3, 4]);
      await w.append([entry('a', T0 - 500, 99)]); // older than everything kept
      assert.deepEqual(w.read('a', ALL).durationsMs, [2, 3, 4]);
      await w.close();
    });

    it('read honours its own limit and sinceMs', async () => {
      const w = make({ now: () => T0 });
      await w.append(
        Array.from({ length: 10 }, (_, i) => entry('a', T0 - 10_000 + i * 1000, i + 1)),
      );
      assert.deepEqual(w.read('a', { limit: 3, sinceMs: 0 }).durationsMs, [8, 9, 10]);
      assert.deepEqual(w.read('a', { limit: 100, sinceMs: T0 - 3000 }).durationsMs, [8, 9, 10]);
      assert.deepEqual(w.read('a', { limit: 100, sinceMs: T0 - 2999.5 }).durationsMs, [9, 10]);
      assert.deepEqual(w.read('a', { limit: 0, sinceMs: 0 }).durationsMs, []);
      await w.close();
    });

    it('drops entries past the age bound, on append and as time passes', async () => {
      let now = T0;
      const w = make({ now: () => now, maxAgeMs: 48 * HOUR });
      await w.append([
        entry('a', T0 - 49 * HOUR, 1), // already too old: not kept
        entry('a', T0 - 47 * HOUR, 2),
        entry('a', T0 - HOUR, 3),
        entry('old', T0 - 47 * HOUR, 4),
      ]);
      assert.deepEqual(w.read('a', ALL).durationsMs, [2, 3]);
      now = T0 + 2 * HOUR; // the 47 h old entries are now 49 h old
      assert.deepEqual(w.read('a', ALL).durationsMs, [3]);
      assert.deepEqual(w.read('old', ALL).durationsMs, []);
      assert.deepEqual(
        w.endpoints(),
        ['a'],
        'an endpoint whose entries all aged out is not listed',
      );
      await w.close();
    });

    it('does not keep an entry that starts more than an hour ahead (a wrong clock)', async () => {
      const w = make({ now: () => T0 });
      await w.append([
        entry('a', T0 - 1000, 1),
        entry('a', T0 + 2 * HOUR, 2),
        entry('a', T0 + 59 * 60_000, 3),
      ]);
      assert.deepEqual(w.read('a', ALL).durationsMs, [1, 3]);
      await w.close();
    });

    it('keeps working past the 49.7 days a uint32 of ms spans (a long-lived process)', async () => {
      let now = T0;
      const w = make({ now: () => now });
      await w.append([entry('a', T0 - 1000, 1, true)]);
      for (let day = 10; day <= 120; day += 10) {
        now = T0 + day * 24 * HOUR;
        await w.append([entry('a', now - 2000, day), entry('a', now - 1000, day + 0.5, true)]);
        assert.deepEqual(w.read('a', ALL), {
          durationsMs: [day, day + 0.5],
          timestampsMs: [now - 2000, now - 1000],
          failed: [false, true],
        });
      }
      await w.close();
    });

    it('keeps whole-ms start times exactly and durations to float32 precision (~7 digits)', async () => {
      const w = make({ now: () => T0 });
      const durations = [0.001, 0.123456, 1.5, 123.456789, 9999.999, 60_000.5, 3_600_000.25];
      await w.append(durations.map((d, i) => entry('a', T0 - 47 * HOUR + i * 7777, d)));
      // Sub-ms start times are rounded to the ms.
      await w.append([entry('a', T0 - 10.4, 1), entry('a', T0 - 5.6, 2)]);
      const r = w.read('a', ALL);
      assert.deepEqual(r.timestampsMs, [
        ...durations.map((_, i) => T0 - 47 * HOUR + i * 7777),
        T0 - 10,
        T0 - 6,
      ]);
      durations.forEach((d, i) => {
        const got = r.durationsMs[i] as number;
        assert.equal(got, Math.fround(d), `duration ${d} is kept as float32`);
        assert.ok(Math.abs(got - d) / d < 6e-8, `${d} → ${got}: relative error under 2^-24`);
      });
      await w.close();
    });

    it('remove drops one endpoint and answers whether it had a window', async () => {
      const w = make({ now: () => T0 });
      await w.append([entry('a', T0 - 1, 1), entry('b', T0 - 1, 2)]);
      assert.equal(await w.remove('a'), true);
      assert.equal(await w.remove('a'), false);
      assert.equal(await w.remove('never'), false);
      assert.deepEqual(w.read('a', ALL).durationsMs, []);
      assert.deepEqual(w.endpoints(), ['b']);
      await w.append([entry('a', T0 - 1, 5)]);
      assert.deepEqual(w.read('a', ALL).durationsMs, [5], 'a removed endpoint starts afresh');
      await w.close();
    });

    it('refuses a batch with an invalid entry, keeping nothing of it', async () => {
      const w = make({ now: () => T0 });
      for (const bad of [
        entry('a', T0, 0),
        entry('a', T0, -1),
        entry('a', T0, Number.NaN),
        entry('a', T0, Infinity),
        entry('a', Number.NaN, 1),
        entry('', T0, 1),
      ]) {
        await assert.rejects(w.append([entry('a', T0 - 1, 1), bad]), InvalidWindowEntryError);
      }
      assert.deepEqual(w.endpoints(), []);
      await w.close();
    });

    it('holds many endpoints, each bounded on its own', async () => {
      const w = make({ now: () => T0, limit: 10 });
      const batch: WindowEntry[] = [];
      for (let e = 0; e < 200; e++)
        for (let i = 0; i < 15; i++)
          batch.push(entry(`e${e}`, T0 - 15_000 + i * 1000, e + 1 + i / 100));
      await w.append(batch);
      assert.equal(w.endpoints().length, 200);
      const r = w.read('e42', ALL);
      assert.equal(r.durationsMs.length, 10);
      assert.equal(r.durationsMs[0], Math.fround(43.05));
      await w.close();
    });
  });
}

// Discovery and its name patterns: globs and /regex/, the --max-endpoints bound across exports in flight, the sweep of idle endpoints.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { MemoryStore } from '../store/memory-store.ts';
import { MemorySpanWindows } from '../store/span-windows-memory.ts';
import { Discovery } from './discovery.ts';
import { compilePattern, NameFilter, patternProblem } from './name-patterns.ts';

describe('name patterns', () => {
  it('globs match whole names, * across slashes and spaces, ? one character, the rest literally', () => {
    const p = compilePattern('shop GET /cart/*');
    assert.ok(p.test('shop GET /cart/{id}'));
    assert.ok(p.test('shop GET /cart/a/b c'));
    assert.ok(!p.test('xshop GET /cart/1'));
    assert.ok(compilePattern('a?c').test('abc'));
    assert.ok(!compilePattern('a?c').test('abbc'));
    assert.ok(compilePattern('GET /x.(y)+[z]').test('GET /x.(y)+[z]'));
    assert.ok(!compilePattern('GET /x.y').test('GET /xzy'));
  });

  it('/…/ is a regular expression (unanchored unless anchored); a bad one is a config problem', () => {
    assert.ok(compilePattern('/^GET /').test('GET /a'));
    assert.ok(compilePattern('/health/').test('svc GET /healthz'));
    assert.match(patternProblem('/(/') ?? '', /not a valid regular expression/);
    assert.equal(patternProblem('*'), undefined);
  });

  it('allow then deny', () => {
    const f = new NameFilter(['shop *', 'billing *'], ['* /health*']);
    assert.equal(f.refusal('shop GET /cart'), undefined);
    assert.match(f.refusal('other GET /x') ?? '', /otlp-allow/);
    assert.match(f.refusal('shop GET /healthz') ?? '', /otlp-deny/);
    assert.equal(new NameFilter([], []).refusal('anything'), undefined);
  });
});

describe('Discovery', () => {
  const log = pino({ level: 'silent' });

  it('bounds new endpoints by maxEndpoints, counting exports still in flight; a failed export adds nothing', () => {
    const store = new MemoryStore();
    const windows = new MemorySpanWindows();
    store.syncEndpoints([{ name: 'listed', options: {} }]);
    const d = new Discovery({
      store,
      windows,
      maxEndpoints: 3,
      allow: [],
      deny: [],
      maxAgeMs: 1000,
      log,
    });
    const a = d.admit(['listed', 'n1', 'n1']);
    assert.deepEqual([...a.admitted].sort(), ['listed', 'n1']);
    const b = d.admit(['n2', 'n3', 'n1']);
    assert.deepEqual([...b.admitted].sort(), ['n1', 'n2']);
    assert.match(b.refused.get('n3') ?? '', /max-endpoints \(3\)/);
    d.settle(a, false);
    assert.equal(store.get('n1'), undefined, 'a failed export adds nothing');
    assert.deepEqual(d.settle(b, true).sort(), ['n1', 'n2']);
    assert.equal(store.size, 3);
    assert.match(d.admit(['n4']).refused.get('n4') ?? '', /max-endpoints/);
  });

  it('sweeps discovered endpoints whose window is empty past the window age, and only those', async () => {
    let now = 1_800_000_000_000;
    const store = new MemoryStore();
    const windows = new MemorySpanWindows({ now: () => now, maxAgeMs: 10_000 });
    store.syncEndpoints([{ name: 'file', options: {} }]);
    const d = new Discovery({
      store,
      windows,
      maxEndpoints: 10,
      allow: [],
      deny: [],
      maxAgeMs: 10_000,
      log,
      now: () => now,
    });
    const adm = d.admit(['old', 'fresh']);
    await windows.append([
      { endpoint: 'old', startMs: now - 1000, durationMs: 5, failed: false },
      { endpoint: 'fresh', startMs: now - 1000, durationMs: 5, failed: false },
    ]);
    d.settle(adm, true);
    now += 5000;
    await windows.append([{ endpoint: 'fresh', startMs: now, durationMs: 5, failed: false }]);
    now += 7000; // 'old' last span 12 s ago, 'fresh' 7 s ago
    assert.deepEqual(await d.sweep(), ['old']);
    assert.deepEqual(
      store
        .list()
        .map((r) => r.name)
        .sort(),
      ['file', 'fresh'],
    );
  });

  it('reports: admitted as spans are; a discovered endpoint no report names for the age is swept, others stay', async () => {
    let now = 1_800_000_000_000;
    const store = new MemoryStore();
    store.syncEndpoints([{ name: 'file', options: {} }]);
    store.addDiscovered(['spans'], 'otlp');
    const d = new Discovery({
      store,
      maxEndpoints: 10,
      allow: [],
      deny: ['* /healthz'],
      maxAgeMs: 1000,
      reportedMaxAgeMs: 10_000,
      log,
      now: () => now,
    });
    const reply = d.report('influxdb', ['a /x', 'b /x', 'a /healthz', 'file']);
    assert.deepEqual(reply.added, ['a /x', 'b /x']);
    assert.equal(reply.admitted, 3, 'the file endpoint counts as known');
    assert.deepEqual(reply.refused, [
      { name: 'a /healthz', reason: 'matches a --discovery-deny (--otlp-deny) pattern' },
    ]);
    assert.equal(store.get('a /x')?.origin, 'discovered');
    now += 6000;
    d.report('influxdb', ['a /x']);
    now += 6000; // 'b /x' last reported 12 s ago, 'a /x' 6 s ago
    assert.deepEqual(await d.sweep(), ['b /x']);
    assert.deepEqual(
      store
        .list()
        .map((r) => r.name)
        .sort(),
      ['a /x', 'file', 'spans'],
      'file endpoints stay; otlp ones without windows (receiver off) are not judged',
    );
  });
});

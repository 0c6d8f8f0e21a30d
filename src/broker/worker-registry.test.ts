// Worker registry: URL validation, idempotent registration, leases, eviction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidWorkerUrlError, UnknownWorkerError } from '../core/errors.ts';
import { WorkerRegistry, normalizeWorkerUrl } from './worker-registry.ts';

function registry(now: { t: number }, evicted: string[] = []) {
  return new WorkerRegistry({
    leaseMs: 30_000,
    legacyLeaseMs: 1_500_000,
    defaultConcurrency: 1,
    maxWorkers: 3,
    now: () => now.t,
    onEvict: (w, reason) => evicted.push(`${w.url}: ${reason}`),
  });
}

describe('WorkerRegistry', () => {
  it('validates URLs', () => {
    assert.equal(normalizeWorkerUrl('http://127.0.0.1:7000/'), 'http://127.0.0.1:7000');
    for (const bad of [
      '',
      'not a url',
      'ftp://x',
      'http://u:p@h:1',
      'http://h:1/?q=1',
      'http://h#f',
      42,
    ]) {
      assert.throws(() => normalizeWorkerUrl(bad), InvalidWorkerUrlError, String(bad));
    }
  });
  it('gives several workers on one host distinct ids, and the same URL the same id', () => {
    const r = registry({ t: 0 });
    const a = r.register('http://127.0.0.1:7001', 'v1');
    const b = r.register('http://127.0.0.1:7002', 'v1', 4);
    assert.notEqual(a.id, b.id);
    assert.equal(b.concurrency, 4);
    assert.equal(r.register('http://127.0.0.1:7001/', 'v1').id, a.id);
    assert.equal(r.size, 2);
  });
  it('evicts after the lease without a heartbeat; heartbeats renew it', () => {
    const now = { t: 0 };
    const evicted: string[] = [];
    const r = registry(now, evicted);
    const a = r.register('http://127.0.0.1:7001', 'v1');
    r.register('http://127.0.0.1:7002', 'v1');
    const legacy = r.register('http://10.0.0.9:7000', 'legacy');
    now.t = 20_000;
    r.heartbeat(a.id);
    now.t = 40_000;
    assert.deepEqual(
      r.list().map((w) => w.url),
      ['http://127.0.0.1:7001', 'http://10.0.0.9:7000'],
    );
    assert.match(evicted[0] ?? '', /7002: no heartbeat for 40000 ms/);
    assert.equal(r.get(legacy.id)?.leaseMs, 1_500_000);
  });
  it('unknown ids are a typed 404', () => {
    const r = registry({ t: 0 });
    assert.throws(() => r.heartbeat('nope'), UnknownWorkerError);
    assert.throws(() => r.unregister('nope'), UnknownWorkerError);
  });
  it('refuses workers beyond the limit', () => {
    const r = registry({ t: 0 });
    for (let i = 0; i < 3; i++) r.register(`http://127.0.0.1:${7001 + i}`, 'v1');
    assert.throws(() => r.register('http://127.0.0.1:7999', 'v1'), /worker limit/);
  });
  it('keeps a legacy worker in grace for legacyGraceMs after its last GET /register', () => {
    const now = { t: 0 };
    const r = new WorkerRegistry({
      leaseMs: 30_000,
      legacyLeaseMs: 1_500_000,
      legacyGraceMs: 60_000,
      defaultConcurrency: 1,
      maxWorkers: 3,
      now: () => now.t,
    });
    const legacy = r.register('http://127.0.0.1:7000', 'legacy');
    const v1 = r.register('http://127.0.0.1:7001', 'v1');
    assert.equal(r.inGrace(legacy), true);
    assert.equal(r.inGrace(v1), false, 'v1 workers listen before they register');
    now.t = 60_000;
    assert.equal(r.inGrace(legacy), false);
    r.register('http://127.0.0.1:7000', 'legacy'); // the original worker restarted: grace again
    assert.equal(r.inGrace(legacy), true);
    const noGrace = registry({ t: 0 });
    assert.equal(noGrace.inGrace(noGrace.register('http://127.0.0.1:7000', 'legacy')), false);
  });
});

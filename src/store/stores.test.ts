// Every store through the conformance suite, then what only the SQLite store promises.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../core/errors.ts';
import { MemoryStore } from './memory-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import { info, timeoutStoreConformance } from './timeout-store.conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

timeoutStoreConformance('memory', (now) => new MemoryStore({ now }));
timeoutStoreConformance('sqlite :memory:', (now) => new SqliteStore({ path: ':memory:', now }));
timeoutStoreConformance(
  'sqlite file',
  (now) => new SqliteStore({ path: join(dir, `c${n++}.db`), now }),
);

describe('SqliteStore', () => {
  it('reopens with exactly the values, statuses, options and state it had', () => {
    const path = join(dir, 'reopen.db');
    const a = new SqliteStore({ path });
    a.syncEndpoints([
      { name: 'x', options: { alpha: 0.01 } },
      { name: 'y', options: {} },
    ]);
    a.upsertEndpoint({ name: 'z', options: { minMs: 5 } });
    a.recordSuccess('x', 123.456, info(123.456, { state: { level: 0.0007 } }), new Date(1));
    a.recordFailure('x', 'later failure', new Date(2));
    const before = a.list();
    a.close();
    const b = new SqliteStore({ path });
    assert.deepEqual(b.list(), before);
    assert.equal(b.hasAnyValue(), true);
    assert.equal(b.get('x')?.storedMs, 123.456);
    assert.equal(b.get('x')?.status, 'stale');
    assert.deepEqual(b.get('x')?.last?.state, { level: 0.0007 });
    b.close();
  });

  it('refuses a file another broker holds, with a clear error', () => {
    const path = join(dir, 'locked.db');
    const a = new SqliteStore({ path });
    assert.throws(
      () => new SqliteStore({ path }),
      (err: unknown) =>
        err instanceof StoreUnavailableError && /locked by another process/.test(err.message),
    );
    a.close();
    new SqliteStore({ path }).close(); // free again once the first one closed
  });

  it('refuses a file that is not a database', () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, 'this is not a database, just text '.repeat(200));
    assert.throws(
      () => new SqliteStore({ path }),
      (err: unknown) =>
        err instanceof StoreUnavailableError && /not a SQLite database/.test(err.message),
    );
  });

  it('refuses a path it cannot create', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    assert.throws(
      () => new SqliteStore({ path: join(file, 'sub', 'broker.db') }),
      StoreUnavailableError,
    );
  });

  it('a write that fails leaves the earlier values intact', () => {
    const path = join(dir, 'atomic.db');
    const a = new SqliteStore({ path });
    a.syncEndpoints([{ name: 'x', options: {} }]);
    a.recordSuccess('x', 10, info(10), new Date());
    // A value that cannot be written (a circular state) must not half-write the record.
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => a.recordSuccess('x', 99, info(99, { state: circular }), new Date()));
    assert.equal(a.get('x')?.storedMs, 10, 'memory stays in step with the disk');
    a.close();
    const b = new SqliteStore({ path });
    assert.equal(b.get('x')?.storedMs, 10);
    assert.deepEqual(
      b.history('x').map((p) => p.computedMs),
      [10],
    );
    b.close();
  });

  it('prunes expired history in small steps, letting other work run between them', async () => {
    let now = 1_800_000_000_000;
    const path = join(dir, 'prune.db');
    const a = new SqliteStore({ path, now: () => now });
    a.syncEndpoints([{ name: 'x', options: {} }]);
    for (let i = 0; i < 250; i++) a.recordSuccess('x', 10 + i, info(10 + i), new Date(now + i));
    now += 8 * 86_400_000;
    a.recordSuccess('x', 5, info(5), new Date(now));
    let others = 0;
    let stop = false;
    const spin = () => {
      others++;
      if (!stop) setImmediate(spin);
    };
    setImmediate(spin);
    const deleted = await a.pruneExpired();
    stop = true;
    assert.equal(deleted, 250);
    assert.ok(others >= 2, `the event loop ran other work ${others} times during the prune`);
    assert.equal(await a.pruneExpired(), 0);
    a.close();
    const raw = new Database(path, { readonly: true });
    assert.deepEqual(raw.prepare('SELECT computed_ms FROM history').all(), [{ computed_ms: 5 }]);
    raw.close();
  });
});

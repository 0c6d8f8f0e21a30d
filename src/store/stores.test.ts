// Every store through the conformance suite, then what only the SQLite store promises.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreSchemaTooNewError, StoreUnavailableError } from '../core/errors.ts';
import { MemoryStore } from './memory-store.ts';
import { MIGRATIONS, SqliteStore, type Migration } from './sqlite-store.ts';
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

  describe('schema migrations (PRAGMA user_version)', () => {
    /** A file at schema version 1 (the first release's), written by hand, with one endpoint and its history. */
    function versionOneFile(path: string): void {
      const raw = new Database(path);
      (MIGRATIONS[0] as Migration).up(raw);
      raw.pragma('user_version = 1');
      raw
        .prepare(
          `INSERT INTO endpoints (name, origin, options, stored_ms, status, computed_at, attempted_at, last, last_error)
           VALUES ('customer', 'api', '{"alpha":0.01}', 120.5, 'fresh', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', NULL, NULL)`,
        )
        .run();
      raw
        .prepare(
          `INSERT INTO history (endpoint, at_ms, ok, computed_ms, stored_ms, served_ms, strategy, samples, percentiles, error)
           VALUES ('customer', ?, 1, 120.5, 120.5, 133, 'quantile', 500, NULL, NULL)`,
        )
        .run(Date.now() - 60_000);
      raw.close();
    }
    const version = (path: string) => {
      const raw = new Database(path, { readonly: true });
      try {
        return raw.pragma('user_version', { simple: true }) as number;
      } finally {
        raw.close();
      }
    };
    /** A second version of the schema, as a later release would append it. */
    const addNote: Migration = {
      description: 'endpoints.note',
      up: (db) => db.exec(`ALTER TABLE endpoints ADD COLUMN note TEXT NOT NULL DEFAULT 'old'`),
    };

    it('creates a new file at the last version', () => {
      const path = join(dir, 'new.db');
      new SqliteStore({ path }).close();
      assert.equal(version(path), MIGRATIONS.length);
    });

    it('migrates a store from the version before, in order, and keeps its data', () => {
      const path = join(dir, 'v1.db');
      versionOneFile(path);
      const applied: string[] = [];
      const track = (m: Migration): Migration => ({
        description: m.description,
        up: (db) => {
          applied.push(m.description);
          m.up(db);
        },
      });
      const v3: Migration = {
        description: 'history.note',
        up: (db) => db.exec(`ALTER TABLE history ADD COLUMN note TEXT`),
      };
      const store = new SqliteStore({ path, migrations: [...MIGRATIONS, addNote, v3].map(track) });
      assert.deepEqual(
        applied,
        [...MIGRATIONS.slice(1).map((m) => m.description), 'endpoints.note', 'history.note'],
        'only the missing steps, in order',
      );
      assert.equal(store.get('customer')?.storedMs, 120.5);
      assert.equal(store.get('customer')?.origin, 'api');
      assert.deepEqual(store.get('customer')?.options, { alpha: 0.01 });
      assert.deepEqual(
        store.history('customer').map((p) => [p.servedMs, p.strategy]),
        [[133, 'quantile']],
      );
      store.close();
      assert.equal(version(path), MIGRATIONS.length + 2);
      const raw = new Database(path, { readonly: true });
      assert.deepEqual(raw.prepare('SELECT name, note FROM endpoints').all(), [
        { name: 'customer', note: 'old' },
      ]);
      raw.close();
    });

    it('migrates a first-release file to the reasons: old points have none, new ones keep theirs', () => {
      const path = join(dir, 'v1-reasons.db');
      versionOneFile(path);
      const store = new SqliteStore({ path });
      assert.equal(store.get('customer')?.last?.reason, undefined);
      assert.deepEqual(
        store.history('customer').map((p) => p.reason),
        [null],
      );
      store.recordSuccess(
        'customer',
        200,
        info(200, { reason: 'p99 of 500 calls = 200 ms, +10 % margin = 221 ms' }),
        new Date(),
      );
      store.close();
      assert.equal(version(path), MIGRATIONS.length);
      const again = new SqliteStore({ path });
      assert.deepEqual(
        again.history('customer').map((p) => p.reason),
        [null, 'p99 of 500 calls = 200 ms, +10 % margin = 221 ms'],
      );
      assert.equal(
        again.get('customer')?.last?.reason,
        'p99 of 500 calls = 200 ms, +10 % margin = 221 ms',
      );
      again.close();
    });

    it('a step that fails is rolled back alone: the store stays at the version before it', () => {
      const path = join(dir, 'v1-broken.db');
      versionOneFile(path);
      const broken: Migration = {
        description: 'half a step',
        up: (db) => {
          db.exec('CREATE TABLE half (x INTEGER)');
          throw new Error('boom');
        },
      };
      assert.throws(
        () => new SqliteStore({ path, migrations: [...MIGRATIONS, addNote, broken] }),
        (err: unknown) =>
          err instanceof StoreUnavailableError &&
          err.message.includes(
            `from schema ${MIGRATIONS.length + 1} to ${MIGRATIONS.length + 2} (half a step) failed: boom`,
          ),
      );
      assert.equal(version(path), MIGRATIONS.length + 1, 'the step before it committed');
      const raw = new Database(path, { readonly: true });
      assert.deepEqual(
        raw.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).all(),
        [],
        'nothing of the failed step',
      );
      assert.deepEqual(raw.prepare('SELECT name, stored_ms FROM endpoints').all(), [
        { name: 'customer', stored_ms: 120.5 },
      ]);
      raw.close();
      // The lock is released: the file opens again (and is migrated) once the step is fixed.
      new SqliteStore({ path, migrations: [...MIGRATIONS, addNote] }).close();
    });

    it('refuses a store from a newer version with a typed error, and changes nothing in it', () => {
      const path = join(dir, 'future.db');
      const raw = new Database(path);
      raw.exec(`CREATE TABLE endpoints (name TEXT PRIMARY KEY, shape_from_the_future BLOB);
                INSERT INTO endpoints VALUES ('customer', x'00ff');`);
      raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
      raw.close();
      const bytes = readFileSync(path);
      assert.throws(
        () => new SqliteStore({ path }),
        (err: unknown) =>
          err instanceof StoreSchemaTooNewError &&
          err.code === 'STORE_SCHEMA_TOO_NEW' &&
          err.statusCode === 500 &&
          err.message.includes(`schema version ${MIGRATIONS.length + 1}`) &&
          err.message.includes(`versions up to ${MIGRATIONS.length}`),
      );
      assert.ok(readFileSync(path).equals(bytes), 'the file is byte for byte as it was');
      assert.equal(existsSync(`${path}-wal`), false, 'no WAL file was made');
      // The refusal left no lock behind: another connection can take the write lock.
      const again = new Database(path, { timeout: 0 });
      again.exec('BEGIN IMMEDIATE; COMMIT;');
      again.close();
    });
  });
});

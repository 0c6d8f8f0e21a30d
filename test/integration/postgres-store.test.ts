// The PostgreSQL store on a real throw-away cluster: the shared conformance suite, migrations, the write queue and the fence.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StoreSchemaTooNewError, StoreUnavailableError } from '../../src/core/errors.ts';
import { PG_MIGRATIONS } from '../../src/store/pg-schema.ts';
import { PgStore } from '../../src/store/pg-store.ts';
import { info, timeoutStoreConformance } from '../../src/store/timeout-store.conformance.ts';
import { postgresSkip, startPostgres, type Postgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = postgresSkip();
let server: Postgres | undefined;
const opened: PgStore[] = [];
let n = 0;

async function freshStore(
  now?: () => number,
  extra: Partial<ConstructorParameters<typeof PgStore>[0]> = {},
): Promise<PgStore> {
  if (!server) throw new Error('no PostgreSQL');
  const url = await server.createDatabase(`c${n++}`);
  const s = new PgStore({ url, ...(now ? { now } : {}), ...extra });
  opened.push(s);
  await s.open();
  return s;
}

async function sameDb(s: PgStore, now?: () => number): Promise<PgStore> {
  const r = new PgStore({ url: s.url, ...(now ? { now } : {}) });
  opened.push(r);
  await r.open();
  return r;
}

describe('PostgreSQL store', { skip }, () => {
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    for (const s of opened) await s.shutdown(100);
    await server?.stop();
  });

  timeoutStoreConformance(
    'postgresql',
    (now) => freshStore(now),
    async (s, now) => {
      await (s as PgStore).flush();
      return sameDb(s as PgStore, now);
    },
  );

  it('records the applied migrations and refuses a database a newer version migrated', async () => {
    const s = await freshStore();
    const rows = await server!.query<{ version: number; description: string }>(
      'SELECT version, description FROM jit_schema_migrations ORDER BY version',
      [],
      new URL(s.url).pathname.slice(1),
    );
    assert.deepEqual(
      rows.map((r) => r.version),
      PG_MIGRATIONS.map((_, i) => i + 1),
    );
    // Two brokers opening the same database at once migrate it once.
    const [a, b] = await Promise.all([sameDb(s), sameDb(s)]);
    assert.equal(a.size, 0);
    assert.equal(b.size, 0);
    const db = new URL(s.url).pathname.slice(1);
    await server!.query(
      "INSERT INTO jit_schema_migrations (version, description) VALUES (99, 'future')",
      [],
      db,
    );
    await assert.rejects(sameDb(s), StoreSchemaTooNewError);
  });

  it('answers a clear error for a database it cannot reach', async () => {
    const s = new PgStore({
      url: `postgres://postgres:secret@127.0.0.1:1/nothing`,
      statementTimeoutMs: 1000,
    });
    await assert.rejects(s.open(), (err: unknown) => {
      assert.ok(err instanceof StoreUnavailableError);
      assert.match(err.message, /127\.0\.0\.1:1/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  });

  it("another store's changes reach this one's view without a restart", async () => {
    const a = await freshStore();
    const b = await sameDb(a);
    a.upsertEndpoint({ name: 'x', options: { alpha: 0.01 } });
    a.recordSuccess('x', 42, info(42), new Date());
    await a.flush();
    const seen = await waitFor(() => (b.get('x')?.storedMs === 42 ? b.get('x') : undefined), 3000);
    assert.deepEqual(seen, a.get('x'));
    assert.deepEqual(b.history('x'), a.history('x'));
    b.removeEndpoint('x');
    await b.flush();
    await waitFor(() => (a.get('x') === undefined ? true : undefined), 3000);
  });

  it('never writes a value older than the stored one (values do not go backwards)', async () => {
    const a = await freshStore();
    const b = await sameDb(a);
    a.upsertEndpoint({ name: 'x', options: {} });
    await a.flush();
    await waitFor(() => b.get('x'), 3000);
    a.recordSuccess('x', 50, info(50), new Date(2_000_000_000_000));
    await a.flush();
    // b has not seen a's value yet or has; either way its older computation must not land.
    b.recordSuccess('x', 10, info(10), new Date(1_000_000_000_000));
    await b.flush();
    const c = await sameDb(a);
    assert.equal(c.get('x')?.storedMs, 50);
    assert.deepEqual(
      c.history('x').map((p) => p.storedMs),
      [50],
    );
  });

  it('with a fence, writes computations only while the lease carries its token', async () => {
    const a = await freshStore();
    const db = new URL(a.url).pathname.slice(1);
    await server!.query(
      "UPDATE jit_leader SET holder = 'a', token = 7, expires_at = now() + interval '1 hour'",
      [],
      db,
    );
    let refused = 0;
    a.onFenced = (k) => (refused += k);
    a.fence = '7';
    a.upsertEndpoint({ name: 'x', options: {} });
    a.recordSuccess('x', 5, info(5), new Date(1000));
    await a.flush();
    await server!.query('UPDATE jit_leader SET token = 8', [], db);
    a.recordSuccess('x', 6, info(6), new Date(2000));
    // An API change is not fenced: it is written whatever the lease.
    a.upsertEndpoint({ name: 'y', options: { maxMs: 9 } });
    await a.flush();
    assert.equal(refused, 1);
    const rows = await server!.query<{ name: string; stored_ms: number | null }>(
      'SELECT name, stored_ms FROM jit_endpoints ORDER BY name',
      [],
      db,
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.stored_ms]),
      [
        ['x', 5],
        ['y', null],
      ],
    );
  });

  it('keeps serving from its view while PostgreSQL is down, and writes the queue once it is back', async () => {
    const a = await freshStore();
    a.upsertEndpoint({ name: 'x', options: {} });
    a.recordSuccess('x', 5, info(5), new Date(1000));
    await a.flush();
    await server!.halt();
    try {
      a.recordSuccess('x', 7, info(7), new Date(2000));
      assert.equal(a.get('x')?.storedMs, 7);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(a.queued > 0, true);
      assert.equal(a.unreachable, true);
    } finally {
      await server!.resume();
    }
    await a.flush();
    assert.equal(a.unreachable, false);
    const b = await sameDb(a);
    assert.equal(b.get('x')?.storedMs, 7);
  });

  it('keeps no history points in its view: the API reads them from PostgreSQL', async () => {
    const t0 = 1_800_000_000_000;
    const now = () => t0 + 3_600_000;
    const minute = (i: number) => new Date(t0 + i * 60_000);
    const values = (points: { storedMs: number | null }[]) => points.map((p) => p.storedMs);
    const a = await freshStore(now);
    a.upsertEndpoint({ name: 'x', options: {} });
    assert.deepEqual(a.history('x'), []);
    for (let i = 0; i < 10; i++) a.recordSuccess('x', 10 + i, info(10 + i), minute(i));
    const all = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
    // Points still queued for PostgreSQL are part of the answer.
    assert.deepEqual(values(await a.readHistory('x')), all);
    await a.flush();
    const stored = await a.readHistory('x');
    assert.deepEqual(values(stored), all);
    // The view answers the last attempt, exactly as PostgreSQL holds it.
    assert.deepEqual(a.history('x'), stored.slice(-1));
    assert.deepEqual(values(await a.readHistory('x', { limit: 3 })), [17, 18, 19]);
    assert.deepEqual(
      values(await a.readHistory('x', { sinceMs: minute(6).getTime() })),
      [16, 17, 18, 19],
    );
    a.recordFailure('x', 'source down', minute(10));
    await a.flush();
    const failed = await a.readHistory('x');
    assert.deepEqual(a.history('x'), failed.slice(-1));
    assert.equal(failed.at(-1)?.ok, false);
    // A broker opening the database reads the same; one keeping 3 points loads the last 3.
    const b = await sameDb(a, now);
    assert.deepEqual(b.history('x'), failed.slice(-1));
    assert.deepEqual(await b.readHistory('x'), failed);
    const c = new PgStore({ url: a.url, now, maxPointsPerEndpoint: 3 });
    opened.push(c);
    await c.open();
    assert.deepEqual(c.history('x'), failed.slice(-3));
    await server!.halt();
    try {
      // PostgreSQL away: what the view has, with the point not yet written.
      a.recordSuccess('x', 20, info(20), minute(11));
      assert.deepEqual(values(await a.readHistory('x')), [20]);
      assert.deepEqual(values(await c.readHistory('x')), [18, 19, 19]);
    } finally {
      await server!.resume();
    }
    await a.flush();
    assert.deepEqual(values(await a.readHistory('x')), [...all, 19, 20]);
  });
});

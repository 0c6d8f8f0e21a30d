// SQLite TimeoutStore (better-sqlite3): the endpoint table cached in memory, every change written in a transaction.
import type Database from 'better-sqlite3';
import { MemoryStore, type MemoryStoreOptions } from './memory-store.ts';
import type { Migration } from './sqlite-migration.ts';
import { openSqlite } from './sqlite-open.ts';
import type { ComputationInfo, EndpointRecord, HistoryPoint, HistoryQuery } from './types.ts';

export type { Migration, MigrationDb } from './sqlite-migration.ts';

/**
 * The schema's history, keyed by `PRAGMA user_version`: `MIGRATIONS[i]` takes a store from
 * version i to version i + 1 (0 is a new, empty file). Append only: a shipped step is never
 * edited or removed, since stores in the field are at every version.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'endpoints and history tables',
    up: (db) =>
      db.exec(`
CREATE TABLE IF NOT EXISTS endpoints (
  name TEXT PRIMARY KEY,
  origin TEXT NOT NULL,
  options TEXT NOT NULL,
  stored_ms REAL,
  status TEXT NOT NULL,
  computed_at TEXT,
  attempted_at TEXT,
  last TEXT,
  last_error TEXT
);
CREATE TABLE IF NOT EXISTS history (
  endpoint TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  computed_ms REAL,
  stored_ms REAL,
  served_ms REAL,
  strategy TEXT,
  samples INTEGER,
  percentiles TEXT,
  error TEXT
);
CREATE INDEX IF NOT EXISTS history_by_endpoint ON history (endpoint, at_ms);
CREATE INDEX IF NOT EXISTS history_by_time ON history (at_ms);
`),
  },
  {
    // The endpoint's own reason travels in its `last` JSON; history points need a column.
    description: 'history.reason: why each served value was what it was',
    up: (db) => db.exec('ALTER TABLE history ADD COLUMN reason TEXT'),
  },
];

interface EndpointRow {
  name: string;
  origin: string;
  options: string;
  stored_ms: number | null;
  status: string;
  computed_at: string | null;
  attempted_at: string | null;
  last: string | null;
  last_error: string | null;
}

interface HistoryRow {
  at_ms: number;
  ok: number;
  computed_ms: number | null;
  stored_ms: number | null;
  served_ms: number | null;
  strategy: string | null;
  samples: number | null;
  percentiles: string | null;
  error: string | null;
  reason: string | null;
}

export interface SqliteStoreOptions extends MemoryStoreOptions {
  /** Database file, or ":memory:". */
  path: string;
  /** The schema's steps. Default `MIGRATIONS` (tests pass others to exercise upgrades). */
  migrations?: readonly Migration[];
}

/**
 * Expired history rows deleted per step. Each row costs ~30 µs on a 3 GB store whose pages are in
 * the OS cache (its index entries are spread over the whole file), so a step holds the event
 * loop for ~3 ms.
 */
const PRUNE_STEP_ROWS = 100;

/**
 * Reads and serves from memory (the hot path never touches the disk) and writes every change
 * through to SQLite in a transaction, so a crash loses at most the change in flight. History
 * lives only on disk (a week of it for 10 000 endpoints would not fit the memory budget).
 */
export class SqliteStore extends MemoryStore {
  private readonly db: Database.Database;
  private readonly path: string;
  private readonly stmts: {
    upsert: Database.Statement;
    remove: Database.Statement;
    removeHistory: Database.Statement;
    addPoint: Database.Statement;
    prune: Database.Statement;
    history: Database.Statement;
  };
  private inBatch = false;
  private pruning: Promise<number> | undefined;

  constructor(opts: SqliteStoreOptions) {
    super(opts);
    this.path = opts.path;
    this.db = openSqlite(opts.path, opts.migrations ?? MIGRATIONS);
    this.stmts = {
      upsert: this.db.prepare(
        `INSERT INTO endpoints (name, origin, options, stored_ms, status, computed_at, attempted_at, last, last_error)
         VALUES (@name, @origin, @options, @stored_ms, @status, @computed_at, @attempted_at, @last, @last_error)
         ON CONFLICT(name) DO UPDATE SET origin = excluded.origin, options = excluded.options,
           stored_ms = excluded.stored_ms, status = excluded.status, computed_at = excluded.computed_at,
           attempted_at = excluded.attempted_at, last = excluded.last, last_error = excluded.last_error`,
      ),
      remove: this.db.prepare('DELETE FROM endpoints WHERE name = ?'),
      removeHistory: this.db.prepare('DELETE FROM history WHERE endpoint = ?'),
      addPoint: this.db.prepare(
        `INSERT INTO history (endpoint, at_ms, ok, computed_ms, stored_ms, served_ms, strategy, samples, percentiles, error, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      prune: this.db.prepare(
        `DELETE FROM history WHERE rowid IN
           (SELECT rowid FROM history WHERE at_ms < ? ORDER BY at_ms LIMIT ?)`,
      ),
      history: this.db.prepare(
        `SELECT at_ms, ok, computed_ms, stored_ms, served_ms, strategy, samples, percentiles, error, reason
         FROM history WHERE endpoint = ? AND at_ms >= ? ORDER BY at_ms DESC, rowid DESC LIMIT ?`,
      ),
    };
    this.load();
  }

  private load(): void {
    for (const row of this.db.prepare('SELECT * FROM endpoints').all() as EndpointRow[]) {
      const rec: EndpointRecord = {
        name: row.name,
        // A TEXT column: no migration for a new origin (a version that does not know one reads it as 'file').
        origin:
          row.origin === 'api' || row.origin === 'otlp' || row.origin === 'discovered'
            ? row.origin
            : 'file',
        options: JSON.parse(row.options) as EndpointRecord['options'],
        storedMs: row.stored_ms ?? undefined,
        status: row.status === 'fresh' || row.status === 'stale' ? row.status : 'never',
        computedAt: row.computed_at ?? undefined,
        attemptedAt: row.attempted_at ?? undefined,
        last: row.last ? (JSON.parse(row.last) as ComputationInfo) : undefined,
        lastError: row.last_error ?? undefined,
      };
      this.records.set(rec.name, rec);
      if (rec.storedMs !== undefined) this.anyValue = true;
    }
  }

  protected override batch(fn: () => void): void {
    if (this.inBatch) return fn();
    this.inBatch = true;
    try {
      this.db.transaction(fn)();
    } finally {
      this.inBatch = false;
    }
    // Once per sync (every cycle): drop history past the retention, a little at a time. Reads
    // already leave expired points out, so nothing waits for this; a failed step is retried
    // at the next sync.
    this.pruning ??= this.pruneExpired()
      .catch(() => 0)
      .finally(() => (this.pruning = undefined));
  }

  /**
   * Deletes the history past the retention in steps of `PRUNE_STEP_ROWS`, yielding to the event
   * loop between steps; resolves with the number of rows deleted. One step of a week-long history
   * of 10 000 endpoints (3 GB) takes a few ms; deleting a backlog in one statement (60 000 rows
   * after a few hours' downtime) held the event loop for seconds (BENCHMARKS.md, "Memory").
   */
  async pruneExpired(): Promise<number> {
    let deleted = 0;
    for (;;) {
      if (!this.db.open) return deleted;
      const { changes } = this.stmts.prune.run(this.now() - this.retentionMs, PRUNE_STEP_ROWS);
      deleted += changes;
      if (changes < PRUNE_STEP_ROWS) return deleted;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  protected override saved(rec: EndpointRecord, point: HistoryPoint | undefined): void {
    const write = () => {
      this.stmts.upsert.run({
        name: rec.name,
        origin: rec.origin,
        options: JSON.stringify(rec.options),
        stored_ms: rec.storedMs ?? null,
        status: rec.status,
        computed_at: rec.computedAt ?? null,
        attempted_at: rec.attemptedAt ?? null,
        last: rec.last ? JSON.stringify(rec.last) : null,
        last_error: rec.lastError ?? null,
      });
      if (point) {
        this.stmts.addPoint.run(
          rec.name,
          Date.parse(point.at),
          point.ok ? 1 : 0,
          point.computedMs,
          point.storedMs,
          point.servedMs,
          point.strategy,
          point.samples,
          point.percentilesMs ? JSON.stringify(point.percentilesMs) : null,
          point.error,
          point.reason,
        );
      }
    };
    if (this.inBatch) write();
    else this.db.transaction(write)();
  }

  protected override removed(name: string): void {
    const drop = () => {
      this.stmts.remove.run(name);
      this.stmts.removeHistory.run(name);
    };
    if (this.inBatch) drop();
    else this.db.transaction(drop)();
  }

  override history(name: string, query: HistoryQuery = {}): HistoryPoint[] {
    const since = Math.max(query.sinceMs ?? 0, this.now() - this.retentionMs);
    const rows = this.stmts.history.all(name, since, query.limit ?? 1000) as HistoryRow[];
    return rows.reverse().map((r) => ({
      at: new Date(r.at_ms).toISOString(),
      ok: r.ok === 1,
      computedMs: r.computed_ms,
      storedMs: r.stored_ms,
      servedMs: r.served_ms,
      strategy: r.strategy,
      samples: r.samples,
      percentilesMs: r.percentiles ? (JSON.parse(r.percentiles) as Record<string, number>) : null,
      error: r.error,
      reason: r.reason,
    }));
  }

  override close(): void {
    if (this.db.open) this.db.close();
  }

  /** The database file this store writes (for messages). */
  get file(): string {
    return this.path;
  }
}

// Persisted SpanWindows (better-sqlite3): every append committed as packed per-endpoint log rows, compacted into one blob per endpoint; reads from memory.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreSchemaTooNewError, StoreUnavailableError } from '../core/errors.ts';
import type { Migration } from './sqlite-store.ts';
import {
  MemorySpanWindows,
  packBatch,
  type MemorySpanWindowsOptions,
} from './span-windows-memory.ts';
import type { WindowEntry } from './span-window-types.ts';

/**
 * The windows file's schema history, keyed by `PRAGMA user_version` (as the broker store's
 * `MIGRATIONS`): `WINDOWS_MIGRATIONS[i]` takes a file from version i to i + 1. Append only.
 *
 * - `windows`: one row per endpoint, its whole window packed (see `MemorySpanWindows.pack`) as of
 *   log row `as_of` (log rows of that endpoint up to it are already in the blob).
 * - `log`: one row per endpoint per append, the entries packed the same way. AUTOINCREMENT so that
 *   ids are never reused after the log is emptied (`as_of` compares them).
 */
export const WINDOWS_MIGRATIONS: readonly Migration[] = [
  {
    description: 'windows and log tables',
    up: (db) =>
      db.exec(`
CREATE TABLE IF NOT EXISTS windows (
  endpoint TEXT PRIMARY KEY,
  base_ms INTEGER NOT NULL,
  as_of INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  endpoint TEXT NOT NULL,
  base_ms INTEGER NOT NULL,
  data BLOB NOT NULL
);
`),
  },
];

export interface SqliteSpanWindowsOptions extends MemorySpanWindowsOptions {
  /** Database file (e.g. `jit-data/windows.db` beside the broker's store), or ":memory:". */
  path: string;
  /**
   * SQLite `synchronous` in WAL mode. `NORMAL` (default): a commit survives the process dying
   * (it is in the WAL file); an OS crash or power cut may lose the last commits. `FULL`: fsync
   * at every commit, surviving those too, at a cost in ingest throughput.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * Compaction runs this often, ms (each endpoint's window rewritten as one blob, its log rows
   * deleted); 0 turns the timer off (call `compact()`). Default 60 000.
   */
  compactEveryMs?: number;
  /** The schema's steps. Default `WINDOWS_MIGRATIONS` (tests pass others). */
  migrations?: readonly Migration[];
}

/** Endpoints whose window is rewritten per compaction step, before yielding to the event loop. */
const COMPACT_STEP_ENDPOINTS = 200;

/**
 * Span windows that survive a restart. `append` commits one transaction (one log row of packed
 * entries per endpoint of the batch) before it updates memory and answers, so an acknowledged
 * append is on disk. Reads are served from memory; on open, the windows and the log after them
 * are loaded back into memory.
 */
export class SqliteSpanWindows extends MemorySpanWindows {
  private readonly db: Database.Database;
  private readonly path: string;
  private readonly stmts: {
    addLog: Database.Statement;
    putWindow: Database.Statement;
    removeWindow: Database.Statement;
    removeLog: Database.Statement;
    trimLog: Database.Statement;
  };
  /** Endpoints with log rows not yet compacted into their window blob. */
  private readonly dirty = new Set<string>();
  private lastLogId = 0;
  private compacting: Promise<number> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(opts: SqliteSpanWindowsOptions) {
    super(opts);
    this.path = opts.path;
    this.db = openWindowsDatabase(
      opts.path,
      opts.migrations ?? WINDOWS_MIGRATIONS,
      opts.synchronous ?? 'NORMAL',
    );
    try {
      this.stmts = {
        addLog: this.db.prepare('INSERT INTO log (endpoint, base_ms, data) VALUES (?, ?, ?)'),
        putWindow: this.db.prepare(
          `INSERT INTO windows (endpoint, base_ms, as_of, data) VALUES (?, ?, ?, ?)
           ON CONFLICT(endpoint) DO UPDATE SET base_ms = excluded.base_ms, as_of = excluded.as_of, data = excluded.data`,
        ),
        removeWindow: this.db.prepare('DELETE FROM windows WHERE endpoint = ?'),
        removeLog: this.db.prepare('DELETE FROM log WHERE endpoint = ?'),
        trimLog: this.db.prepare('DELETE FROM log WHERE id <= ?'),
      };
      this.load();
    } catch (err) {
      this.db.close();
      throw new StoreUnavailableError(opts.path, `loading its windows failed: ${describe(err)}`);
    }
    const every = opts.compactEveryMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.compact().catch(() => undefined); // retried at the next tick; appends stay in the log
      }, every);
      this.timer.unref();
    }
  }

  private load(): void {
    const asOf = new Map<string, number>();
    const windows = this.db
      .prepare('SELECT endpoint, base_ms, as_of, data FROM windows')
      .iterate() as IterableIterator<{
      endpoint: string;
      base_ms: number;
      as_of: number;
      data: Buffer;
    }>;
    for (const row of windows) {
      this.insertPacked(row.endpoint, row.base_ms, row.data);
      asOf.set(row.endpoint, row.as_of);
    }
    const log = this.db
      .prepare('SELECT id, endpoint, base_ms, data FROM log ORDER BY id')
      .iterate() as IterableIterator<{
      id: number;
      endpoint: string;
      base_ms: number;
      data: Buffer;
    }>;
    for (const row of log) {
      this.lastLogId = row.id;
      // Rows up to the blob's as_of are in the blob already.
      if (row.id <= (asOf.get(row.endpoint) ?? 0)) continue;
      this.insertPacked(row.endpoint, row.base_ms, row.data);
      this.dirty.add(row.endpoint);
    }
    const seq = this.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'log'`).get() as
      { seq: number } | undefined;
    this.lastLogId = Math.max(this.lastLogId, seq?.seq ?? 0);
  }

  override append(entries: readonly WindowEntry[]): Promise<void> {
    try {
      const groups = this.accept(entries);
      if (groups.size > 0) {
        // Disk first: memory changes only once the transaction committed.
        this.db.transaction(() => {
          for (const [endpoint, g] of groups) {
            const { baseMs, data } = packBatch(g);
            this.lastLogId = Number(this.stmts.addLog.run(endpoint, baseMs, data).lastInsertRowid);
          }
        })();
        for (const endpoint of groups.keys()) this.dirty.add(endpoint);
        this.insert(groups);
      }
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(
        err instanceof Error ? err : new StoreUnavailableError(this.path, String(err)),
      );
    }
  }

  override remove(endpoint: string): Promise<boolean> {
    try {
      this.db.transaction(() => {
        this.stmts.removeWindow.run(endpoint);
        // A scan of the log: it holds only what arrived since the last compaction.
        this.stmts.removeLog.run(endpoint);
      })();
      this.dirty.delete(endpoint);
      return Promise.resolve(this.drop(endpoint));
    } catch (err) {
      return Promise.reject(
        err instanceof Error ? err : new StoreUnavailableError(this.path, String(err)),
      );
    }
  }

  /**
   * Rewrites the window of every endpoint appended to since the last compaction as one blob
   * (`COMPACT_STEP_ENDPOINTS` per transaction, yielding between them), then deletes the log rows
   * they cover. Windows whose entries all aged out are deleted. Resolves with the number of
   * windows rewritten. One runs at a time.
   */
  compact(): Promise<number> {
    this.compacting ??= this.compactNow().finally(() => (this.compacting = undefined));
    return this.compacting;
  }

  private async compactNow(): Promise<number> {
    // Windows that aged out entirely are deleted on disk too (they may have no log rows).
    const before = [...this.rings.keys()];
    this.prune();
    for (const endpoint of before) if (!this.rings.has(endpoint)) this.dirty.add(endpoint);
    // Log rows up to `upTo` belong to endpoints dirty now; each blob written below is written
    // with the id of the last row then, so rows appended while we yield are not replayed twice.
    const upTo = this.lastLogId;
    const todo = [...this.dirty];
    this.dirty.clear();
    let done = 0;
    for (let i = 0; i < todo.length; i += COMPACT_STEP_ENDPOINTS) {
      if (!this.db.open) return done;
      const step = todo.slice(i, i + COMPACT_STEP_ENDPOINTS);
      try {
        this.db.transaction(() => {
          for (const endpoint of step) {
            const packed = this.pack(endpoint);
            if (packed)
              this.stmts.putWindow.run(endpoint, packed.baseMs, this.lastLogId, packed.data);
            else this.stmts.removeWindow.run(endpoint);
          }
        })();
      } catch (err) {
        // Not compacted: still dirty, their log rows stay (nothing is lost, only not yet compact).
        for (const endpoint of todo.slice(i)) this.dirty.add(endpoint);
        throw err;
      }
      done += step.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.db.open) this.stmts.trimLog.run(upTo);
    return done;
  }

  override close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  /** The database file (for messages). */
  get file(): string {
    return this.path;
  }
}

/**
 * Opens the windows file locked for this process, in WAL mode, migrated to the last version; a
 * file from a newer version is refused untouched. (The same steps as the broker store's file.)
 */
function openWindowsDatabase(
  path: string,
  migrations: readonly Migration[],
  synchronous: 'NORMAL' | 'FULL',
): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: 0 });
    // One broker per file, for the connection's life; set before WAL so that WAL keeps its
    // index in process memory rather than a shared-memory file.
    db.pragma('locking_mode = EXCLUSIVE');
    const found = db.pragma('user_version', { simple: true }) as number;
    if (found > migrations.length) throw new StoreSchemaTooNewError(path, found, migrations.length);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.exec('BEGIN IMMEDIATE; COMMIT;');
    for (let version = found; version < migrations.length; version++) {
      const step = migrations[version] as Migration;
      try {
        db.transaction(() => {
          step.up(db as Database.Database);
          (db as Database.Database).pragma(`user_version = ${version + 1}`);
        })();
      } catch (err) {
        throw new StoreUnavailableError(
          path,
          `migrating it from schema ${version} to ${version + 1} (${step.description}) failed: ${describe(err)}`,
        );
      }
    }
    return db;
  } catch (err) {
    if (db?.open) db.close();
    if (err instanceof StoreSchemaTooNewError || err instanceof StoreUnavailableError) throw err;
    throw new StoreUnavailableError(path, describe(err));
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED')
    return 'it is locked by another process (is another broker using it?)';
  if (e.code === 'SQLITE_NOTADB') return 'it is not a SQLite database';
  if (e.code === 'SQLITE_CANTOPEN') return 'it cannot be opened (check the path and permissions)';
  if (e.code === 'SQLITE_READONLY') return 'it is read-only';
  return e.message ?? String(err);
}

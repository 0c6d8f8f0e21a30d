// Persisted SpanWindows (better-sqlite3): every append committed as one packed log row, compacted into one blob per endpoint; reads from memory.
import type Database from 'better-sqlite3';
import { JitError, StoreUnavailableError } from '../core/errors.ts';
import type { Migration } from './sqlite-migration.ts';
import { describeSqliteError, openSqlite } from './sqlite-open.ts';
import { MemorySpanWindows, type MemorySpanWindowsOptions } from './span-windows-memory.ts';
import type { WindowEntry } from './span-window-types.ts';

/**
 * The windows file's schema history, keyed by `PRAGMA user_version` (as the broker store's
 * `MIGRATIONS`): `WINDOWS_MIGRATIONS[i]` takes a file from version i to i + 1. Append only.
 *
 * - `windows`: one row per endpoint, its whole window packed (see `MemorySpanWindows.pack`) as of
 *   log row `as_of` (log rows of that endpoint up to it are already in the blob).
 * - `names`: endpoint name ↔ id for the log. A removed endpoint's row is deleted, so the log's
 *   entries under its old id are skipped on replay; it gets a new id when it comes back.
 * - `log`: one row per append: per entry a float32 signed duration, a uint32 start offset from
 *   `base_ms` and a uint32 name id (12 bytes, little-endian, arrival order). AUTOINCREMENT (both
 *   tables) so that ids are never reused once rows are deleted (`as_of` compares log ids).
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
CREATE TABLE IF NOT EXISTS names (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  endpoint TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
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
 * Span windows that survive a restart. `append` commits one transaction (one log row of the
 * batch's packed entries, and the ids of endpoints new to the file) before it updates memory and answers, so an acknowledged
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
    addName: Database.Statement;
    removeName: Database.Statement;
    trimLog: Database.Statement;
  };
  /** Endpoints with log rows not yet compacted into their window blob. */
  private readonly dirty = new Set<string>();
  private lastLogId = 0;
  /** Name ids of the endpoints in the `names` table. */
  private readonly ids = new Map<string, number>();
  private compacting: Promise<number> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(opts: SqliteSpanWindowsOptions) {
    super(opts);
    this.path = opts.path;
    this.db = openSqlite(
      opts.path,
      opts.migrations ?? WINDOWS_MIGRATIONS,
      opts.synchronous ?? 'NORMAL',
    );
    try {
      this.stmts = {
        addLog: this.db.prepare('INSERT INTO log (base_ms, data) VALUES (?, ?)'),
        addName: this.db.prepare('INSERT INTO names (endpoint) VALUES (?)'),
        removeName: this.db.prepare('DELETE FROM names WHERE endpoint = ?'),
        putWindow: this.db.prepare(
          `INSERT INTO windows (endpoint, base_ms, as_of, data) VALUES (?, ?, ?, ?)
           ON CONFLICT(endpoint) DO UPDATE SET base_ms = excluded.base_ms, as_of = excluded.as_of, data = excluded.data`,
        ),
        removeWindow: this.db.prepare('DELETE FROM windows WHERE endpoint = ?'),
        trimLog: this.db.prepare('DELETE FROM log WHERE id <= ?'),
      };
      this.load();
    } catch (err) {
      this.db.close();
      throw new StoreUnavailableError(
        opts.path,
        `loading its windows failed: ${describeSqliteError(err)}`,
      );
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
    const names = new Map<number, string>();
    for (const row of this.db
      .prepare('SELECT id, endpoint FROM names')
      .iterate() as IterableIterator<{
      id: number;
      endpoint: string;
    }>) {
      names.set(row.id, row.endpoint);
      this.ids.set(row.endpoint, row.id);
    }
    const log = this.db
      .prepare('SELECT id, base_ms, data FROM log ORDER BY id')
      .iterate() as IterableIterator<{
      id: number;
      base_ms: number;
      data: Buffer;
    }>;
    const now = this.now();
    const oldest = now - this.maxAgeMs;
    const newest = now + this.maxFutureMs;
    for (const row of log) {
      this.lastLogId = row.id;
      const n = Math.floor(row.data.byteLength / 12);
      // Copied into aligned arrays: a blob from SQLite need not start at a multiple of 4.
      const bytes = new Uint8Array(n * 12);
      bytes.set(row.data.subarray(0, n * 12));
      const dur = new Float32Array(bytes.buffer, 0, n);
      const off = new Uint32Array(bytes.buffer, n * 4, n);
      const id = new Uint32Array(bytes.buffer, n * 8, n);
      for (let i = 0; i < n; i++) {
        const endpoint = names.get(id[i] as number);
        // No name: the endpoint was removed after this row was written.
        if (endpoint === undefined) continue;
        // Rows up to the blob's as_of are in the blob already.
        if (row.id <= (asOf.get(endpoint) ?? 0)) continue;
        const start = row.base_ms + (off[i] as number);
        if (start < oldest || start > newest) continue;
        this.insertOne(endpoint, start, dur[i] as number);
        this.dirty.add(endpoint);
      }
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
        const added: string[] = [];
        try {
          this.db.transaction(() => {
            let total = 0;
            let base = Infinity;
            for (const [endpoint, g] of groups) {
              total += g.startsMs.length;
              for (const start of g.startsMs) if (start < base) base = start;
              if (!this.ids.has(endpoint)) {
                this.ids.set(endpoint, Number(this.stmts.addName.run(endpoint).lastInsertRowid));
                added.push(endpoint);
              }
            }
            const buf = new ArrayBuffer(total * 12);
            const dur = new Float32Array(buf, 0, total);
            const off = new Uint32Array(buf, total * 4, total);
            const id = new Uint32Array(buf, total * 8, total);
            let k = 0;
            for (const [endpoint, g] of groups) {
              const nameId = this.ids.get(endpoint) as number;
              for (let i = 0; i < g.startsMs.length; i++, k++) {
                dur[k] = g.signedMs[i] as number;
                off[k] = (g.startsMs[i] as number) - base;
                id[k] = nameId;
              }
            }
            this.lastLogId = Number(this.stmts.addLog.run(base, Buffer.from(buf)).lastInsertRowid);
          })();
        } catch (err) {
          // Rolled back: the names added in memory are not in the file.
          for (const endpoint of added) this.ids.delete(endpoint);
          throw err;
        }
        for (const endpoint of groups.keys()) this.dirty.add(endpoint);
        this.insert(groups);
      }
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(this.failure(err));
    }
  }

  override remove(endpoint: string): Promise<boolean> {
    try {
      this.db.transaction(() => {
        this.stmts.removeWindow.run(endpoint);
        // Its entries in the log are skipped on replay once its name is gone.
        this.stmts.removeName.run(endpoint);
      })();
      this.ids.delete(endpoint);
      this.dirty.delete(endpoint);
      return Promise.resolve(this.drop(endpoint));
    } catch (err) {
      return Promise.reject(this.failure(err));
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

  /**
   * What an append or remove rejects with: our typed errors as they are, anything from SQLite
   * (disk full, I/O error, a closed file) as `StoreUnavailableError`. Nothing was changed.
   */
  private failure(err: unknown): Error {
    if (err instanceof JitError) return err;
    return new StoreUnavailableError(this.path, `writing failed: ${describeSqliteError(err)}`);
  }

  /** The database file (for messages). */
  get file(): string {
    return this.path;
  }
}

// Opening a SQLite file as our stores do: locked for this process, WAL, migrated by PRAGMA user_version.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreSchemaTooNewError, StoreUnavailableError } from '../core/errors.ts';
import type { Migration } from './sqlite-migration.ts';

/**
 * Brings `db` from its `user_version` to `migrations.length`, one transaction per step (a step
 * that fails leaves the store at the version before it, with nothing of that step applied).
 * Throws `StoreSchemaTooNewError` for a store past the last step, before anything is written.
 * Answers the version the store was at.
 */
function migrate(db: Database.Database, path: string, migrations: readonly Migration[]): number {
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > migrations.length) throw new StoreSchemaTooNewError(path, found, migrations.length);
  for (let version = found; version < migrations.length; version++) {
    const step = migrations[version] as Migration;
    try {
      db.transaction(() => {
        step.up(db);
        // Inside the step's transaction: the version and the step commit together.
        db.pragma(`user_version = ${version + 1}`);
      })();
    } catch (err) {
      throw new StoreUnavailableError(
        path,
        `migrating it from schema ${version} to ${version + 1} (${step.description}) failed: ${describeSqliteError(err)}`,
      );
    }
  }
  return found;
}

/**
 * Opens a store's file, locked for this process, in WAL mode and migrated to the last schema
 * version; a file from a newer version is refused untouched. Closes what it opened on failure.
 */
export function openSqlite(
  path: string,
  migrations: readonly Migration[],
  synchronous: 'NORMAL' | 'FULL' = 'NORMAL',
): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: 0 });
    // One broker per file: hold the lock for the connection's life, so a second broker on the
    // same file fails at start-up instead of interleaving writes. (Set before WAL, so that WAL
    // keeps its index in process memory rather than a shared-memory file.)
    db.pragma('locking_mode = EXCLUSIVE');
    // A store from a newer version is refused before anything is written to it (WAL mode and
    // the lock below both write to the file).
    const found = db.pragma('user_version', { simple: true }) as number;
    if (found > migrations.length) throw new StoreSchemaTooNewError(path, found, migrations.length);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.exec('BEGIN IMMEDIATE; COMMIT;');
    migrate(db, path, migrations);
    return db;
  } catch (err) {
    if (db?.open) db.close();
    if (err instanceof StoreSchemaTooNewError || err instanceof StoreUnavailableError) throw err;
    throw new StoreUnavailableError(path, describeSqliteError(err));
  }
}

/** A SQLite failure as a reason people can act on. */
export function describeSqliteError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED')
    return 'it is locked by another process (is another broker using it?)';
  if (e.code === 'SQLITE_NOTADB') return 'it is not a SQLite database';
  if (e.code === 'SQLITE_CANTOPEN') return 'it cannot be opened (check the path and permissions)';
  if (e.code === 'SQLITE_READONLY') return 'it is read-only';
  return e.message ?? String(err);
}

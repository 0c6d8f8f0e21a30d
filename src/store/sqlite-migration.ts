// A schema step of our SQLite files, typed without better-sqlite3 so that the package's declarations need no @types package.

/**
 * What a migration step may use of the connection: the part of better-sqlite3's `Database` it
 * needs, declared here so that the package's type declarations do not require
 * `@types/better-sqlite3` of a user who imports `justintimeout/server`.
 */
export interface MigrationDb {
  exec(sql: string): unknown;
  prepare(sql: string): {
    run(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
    get(...params: unknown[]): unknown;
  };
}

/** One step of the schema: moves a store from the version before it to the next one. */
export interface Migration {
  /** What the step changes (for messages). */
  description: string;
  /** Applies the step; runs inside the transaction that also sets the new `user_version`. */
  up(db: MigrationDb): void;
}

// PostgreSQL schema of the shared broker store: versioned migrations, applied once under a lock.
import { StoreSchemaTooNewError } from '../core/errors.ts';

/** One schema step: SQL run in the migrating transaction. */
export interface PgMigration {
  description: string;
  sql: string;
}

/**
 * The part of a `pg` client the migrations use. Declared here, not as `pg.ClientBase`, so that the
 * package's type declarations do not need `@types/pg` (a dev dependency) in users' projects.
 */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** The transaction id of the writing transaction, as a bigint column value (see pg-store.ts). */
export const TX = 'pg_current_xact_id()::text::bigint';

/**
 * The schema's history: `PG_MIGRATIONS[i]` takes a database from version i to i + 1 (0: none of
 * our tables). Append only: a shipped step is never edited, databases in the field are at every
 * version. Tables carry a `jit_` prefix so the store can share a database the team already runs.
 * JSON goes in `text` columns, not `jsonb`: jsonb reorders keys, and every broker must serve the
 * same bytes for the same record.
 */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    description: 'endpoints, history, leader lease and workers tables',
    sql: `
CREATE TABLE jit_endpoints (
  name text PRIMARY KEY,
  origin text NOT NULL,
  options text NOT NULL,
  stored_ms double precision,
  status text NOT NULL,
  computed_at_ms double precision,
  attempted_at_ms double precision,
  last text,
  last_error text,
  deleted boolean NOT NULL DEFAULT false,
  tx bigint NOT NULL
);
CREATE INDEX jit_endpoints_by_tx ON jit_endpoints (tx);
CREATE TABLE jit_history (
  id bigserial PRIMARY KEY,
  endpoint text NOT NULL,
  at_ms double precision NOT NULL,
  ok boolean NOT NULL,
  computed_ms double precision,
  stored_ms double precision,
  served_ms double precision,
  strategy text,
  samples integer,
  percentiles text,
  error text,
  writer text NOT NULL,
  tx bigint NOT NULL
);
CREATE INDEX jit_history_by_endpoint ON jit_history (endpoint, at_ms);
CREATE INDEX jit_history_by_time ON jit_history (at_ms);
CREATE INDEX jit_history_by_tx ON jit_history (tx);
CREATE TABLE jit_leader (
  id integer PRIMARY KEY CHECK (id = 1),
  holder text,
  token bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
INSERT INTO jit_leader (id, holder, token, expires_at) VALUES (1, NULL, 0, '-infinity');
CREATE TABLE jit_workers (
  url text PRIMARY KEY,
  id text NOT NULL,
  protocol text NOT NULL,
  concurrency integer NOT NULL,
  max_batch integer NOT NULL,
  max_job_ms double precision,
  registered_at_ms double precision NOT NULL,
  last_heartbeat_ms double precision NOT NULL,
  lease_ms double precision NOT NULL,
  gone boolean NOT NULL DEFAULT false
);
`,
  },
  {
    // The endpoint's own reason travels in its `last` JSON; history points need a column.
    description: 'jit_history.reason: why each served value was what it was',
    sql: 'ALTER TABLE jit_history ADD COLUMN reason text',
  },
];

/**
 * Brings the database to the last known version: in one transaction, under an advisory lock so
 * brokers starting together migrate once. Throws `StoreSchemaTooNewError` (nothing changed) for
 * a database a newer version migrated.
 */
export async function migratePg(
  client: PgQueryable,
  label: string,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<number> {
  await client.query('BEGIN');
  try {
    // Any constant key works, as long as it stays the same across versions.
    await client.query('SELECT pg_advisory_xact_lock(6942202611)');
    await client.query(`CREATE TABLE IF NOT EXISTS jit_schema_migrations (
      version integer PRIMARY KEY,
      description text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const r = await client.query('SELECT max(version) AS v FROM jit_schema_migrations');
    const found = (r.rows as { v: number | null }[])[0]?.v ?? 0;
    if (found > migrations.length) {
      throw new StoreSchemaTooNewError(label, found, migrations.length);
    }
    for (let v = found; v < migrations.length; v++) {
      const step = migrations[v] as PgMigration;
      await client.query(step.sql);
      await client.query(
        'INSERT INTO jit_schema_migrations (version, description) VALUES ($1, $2)',
        [v + 1, step.description],
      );
    }
    await client.query('COMMIT');
    return migrations.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

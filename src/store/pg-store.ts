// PostgreSQL TimeoutStore: an in-memory view served synchronously, written through in order, kept fresh by LISTEN/NOTIFY.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { StoreSchemaTooNewError, StoreUnavailableError } from '../core/errors.ts';
import { staleReason } from '../core/serving.ts';
import { MemoryStore, type MemoryStoreOptions } from './memory-store.ts';
import { migratePg, PG_MIGRATIONS, TX, type PgMigration } from './pg-schema.ts';
import type {
  ComputationInfo,
  EndpointEntry,
  EndpointRecord,
  HistoryPoint,
  HistoryQuery,
} from './types.ts';

/** Whether a `--store` value names PostgreSQL (the scheme selects the store). */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store);
}

/** The URL without its password, for messages and logs. */
export function redactPgUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** What the store says about the database (one line per change of state, never per failure). */
export interface PgStoreLog {
  warn(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
}

export interface PgStoreOptions extends MemoryStoreOptions {
  /** postgres://user[:password]@host:port/db (libpq-style parameters in the query work too). */
  url: string;
  /** This process's name in the database (lease holder, writer of its history rows). Default a random UUID. */
  writerId?: string;
  /** The schema's steps. Default `PG_MIGRATIONS` (tests pass others to exercise upgrades). */
  migrations?: readonly PgMigration[];
  /** Changes written in one transaction at most. Default 1000. */
  maxBatch?: number;
  /** Fallback re-read of other brokers' changes, should a notification be lost. Default 2000 (ms). */
  pollMs?: number;
  /** Longest a statement or an idle open transaction may last. Default 5000 (ms). */
  statementTimeoutMs?: number;
  log?: PgStoreLog;
}

/** A change waiting to be written, in the order the view made it. */
type Op =
  | { kind: 'meta'; rec: EndpointRecord; fenced: boolean }
  | { kind: 'value'; rec: EndpointRecord; point: HistoryPoint; fenced: true }
  | { kind: 'remove'; name: string; fenced: boolean }
  | { kind: 'sql'; text: string; values: unknown[]; notify?: 'jit_workers'; fenced: boolean };

interface EndpointRow {
  name: string;
  origin: string;
  options: string;
  stored_ms: number | null;
  status: string;
  computed_at_ms: number | null;
  attempted_at_ms: number | null;
  last: string | null;
  last_error: string | null;
  deleted: boolean;
}

interface HistoryRow {
  id: string;
  tx: string;
  endpoint: string;
  at_ms: number;
  ok: boolean;
  computed_ms: number | null;
  stored_ms: number | null;
  served_ms: number | null;
  strategy: string | null;
  samples: number | null;
  percentiles: string | null;
  error: string | null;
  reason: string | null;
}

const iso = (ms: number | null): string | undefined =>
  ms === null ? undefined : new Date(ms).toISOString();
const msOf = (at: string | undefined): number | null => (at === undefined ? null : Date.parse(at));

/**
 * One string object per distinct strategy, method and worker name: each parsed record would
 * otherwise hold its own copies (~100 bytes per record; 100 000 records share a handful).
 */
const names = new Map<string, string>();
function shared(text: string): string {
  const known = names.get(text);
  if (known !== undefined) return known;
  // Bounded: names that are not a handful (an odd worker id per record) are not kept.
  if (names.size < 10_000) names.set(text, text);
  return text;
}

function lastOf(text: string): ComputationInfo {
  const last = JSON.parse(text) as ComputationInfo;
  if (typeof last.strategy === 'string') last.strategy = shared(last.strategy);
  if (typeof last.method === 'string') last.method = shared(last.method);
  if (typeof last.workerId === 'string') last.workerId = shared(last.workerId);
  return last;
}

function recordOf(row: EndpointRow): EndpointRecord {
  return {
    name: row.name,
    origin:
      row.origin === 'api' || row.origin === 'otlp' || row.origin === 'discovered'
        ? row.origin
        : 'file',
    options: JSON.parse(row.options) as EndpointRecord['options'],
    storedMs: row.stored_ms ?? undefined,
    status: row.status === 'fresh' || row.status === 'stale' ? row.status : 'never',
    computedAt: iso(row.computed_at_ms),
    attemptedAt: iso(row.attempted_at_ms),
    last: row.last === null ? undefined : lastOf(row.last),
    lastError: row.last_error ?? undefined,
  };
}

/**
 * The history point of the record's last attempt, as the store made it then (MemoryStore's
 * recordSuccess / recordFailure): what the view answers without keeping points.
 */
function lastAttempt(rec: EndpointRecord): HistoryPoint | undefined {
  const last = rec.last;
  if (rec.lastError !== undefined && rec.attemptedAt !== undefined) {
    return {
      at: rec.attemptedAt,
      ok: false,
      computedMs: null,
      storedMs: rec.storedMs ?? null,
      servedMs: last?.servedMs ?? null,
      strategy: last?.strategy ?? null,
      samples: null,
      percentilesMs: null,
      error: rec.lastError,
      reason: last ? staleReason(last.reason) : null,
    };
  }
  if (rec.computedAt === undefined || rec.storedMs === undefined || !last) return undefined;
  return {
    at: rec.computedAt,
    ok: true,
    computedMs: last.computedMs,
    storedMs: rec.storedMs,
    servedMs: last.servedMs,
    strategy: last.strategy,
    samples: last.samples,
    percentilesMs: last.percentilesMs,
    error: null,
    reason: last.reason ?? null,
  };
}

/** `points` (oldest first) with `extra` points at times not among them, since `since`, the last `limit`. */
function mergePoints(
  points: HistoryPoint[],
  extra: readonly HistoryPoint[],
  since: number,
  limit: number,
): HistoryPoint[] {
  const known = new Set(points.map((p) => p.at));
  const added = extra.filter((p) => !known.has(p.at) && Date.parse(p.at) >= since);
  if (added.length > 0) {
    points.push(...added);
    points.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  }
  return points.slice(Math.max(0, points.length - limit));
}

function pointOf(r: HistoryRow): HistoryPoint {
  return {
    at: new Date(r.at_ms).toISOString(),
    ok: r.ok,
    computedMs: r.computed_ms,
    storedMs: r.stored_ms,
    servedMs: r.served_ms,
    strategy: r.strategy,
    samples: r.samples,
    percentilesMs:
      r.percentiles === null ? null : (JSON.parse(r.percentiles) as Record<string, number>),
    error: r.error,
    reason: r.reason,
  };
}

const ENDPOINT_COLUMNS =
  'name, origin, options, stored_ms, status, computed_at_ms, attempted_at_ms, last, last_error, deleted';
const HISTORY_COLUMNS =
  'id::text AS id, tx::text AS tx, endpoint, at_ms, ok, computed_ms, stored_ms, served_ms, strategy, samples, percentiles, error, reason';

const ignore = (): void => undefined;

/** Whether an error is the database being away (retry) rather than refusing the statement. */
function transient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true; // socket, timeout…
  // Connection, resources, operator intervention (shutdown), serialization and deadlock,
  // statement timeout and lock timeout (57014, 55P03).
  // 25P03: the server ended a transaction left idle too long (this process was paused).
  return /^(08|53|57|40|55P03|25P03)/.test(code);
}

function describeOp(op: Op | undefined): string {
  if (op === undefined) return 'none';
  if (op.kind === 'sql') return op.text.slice(0, 60);
  return `${op.kind} ${op.kind === 'remove' ? op.name : op.rec.name}`;
}

/**
 * History points per endpoint the view keeps by default: none. `readHistory()` (the API's)
 * reads them from PostgreSQL; `history()` answers the last attempt, which the record holds.
 * Every point kept in memory costs ~60 MB at 100 000 endpoints (BENCHMARKS.md, "PostgreSQL
 * store"); a day of them would not fit the broker's memory goal.
 */
const VIEW_POINTS = 0;

/** Endpoints read per query when the view is loaded. */
const LOAD_CHUNK = 5000;

/** A history point read with the view, before it is applied in order. */
interface LoadedPoint {
  endpoint: string;
  id: bigint;
  point: HistoryPoint;
}

/** What a full read of the database makes the view. */
interface LoadedView {
  records: EndpointRecord[];
  points: LoadedPoint[];
  /** Ids of points whose transaction the next re-read may see again. */
  seen: Set<string>;
}

/** Settles after `ms`. */
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The store several brokers share. Reads never wait for the database: they are served from the
 * view `MemoryStore` keeps (the records; history points only if `maxPointsPerEndpoint` asks),
 * loaded by `open()`; history is read from PostgreSQL by `readHistory()`. Every change is applied to the view at once and queued; one writer sends the queue
 * to PostgreSQL in order, a batch per transaction, retrying while the database is away;
 * `flush()` waits until what was queued is durable. Other brokers' changes arrive by
 * LISTEN/NOTIFY (a fallback poll catches lost notifications) and are re-read by transaction id.
 * Computations and endpoint-list syncs are fenced: with `fence` set, they are written only while
 * the leader lease still carries that token (see docs/decisions.md, "Many brokers").
 */
export class PgStore extends MemoryStore {
  readonly url: string;
  readonly writerId: string;
  private readonly pool: pg.Pool;
  private readonly migrations: readonly PgMigration[];
  private readonly maxBatch: number;
  /** History points per endpoint the view keeps. */
  private readonly viewPoints: number;
  private readonly pollMs: number;
  private readonly statementTimeoutMs: number;
  private readonly log: PgStoreLog | undefined;
  private readonly queue: Op[] = [];
  /** Queued changes per endpoint: a re-read must not undo a change still on its way. */
  private readonly pending = new Map<string, number>();
  private enqueued = 0;
  private committed = 0;
  private waiters: { upTo: number; resolve: () => void }[] = [];
  private draining = false;
  private closed = false;
  private opened = false;
  /** Changes of transactions from this id on may not have been read yet (see refresh). */
  private sinceTx = '0';
  /** History rows already applied whose transaction may be read again. */
  private seenPoints = new Set<string>();
  private listener: pg.Client | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private inSync = false;
  private down = false;
  /**
   * The leader token fenced writes must match: undefined writes them unfenced (a store used
   * alone); null refuses them (a broker that is not the leader). Set by the broker's lease.
   */
  fence: string | null | undefined = undefined;
  /** Called when fenced changes were refused: the lease went to another broker. */
  onFenced: ((refused: number) => void) | undefined;
  /** Called when another broker changed the workers table. */
  onWorkersChanged: (() => void) | undefined;

  constructor(opts: PgStoreOptions) {
    // The view keeps the most recent points only: all of the history lives in PostgreSQL.
    super({ maxPointsPerEndpoint: VIEW_POINTS, ...opts });
    this.viewPoints = opts.maxPointsPerEndpoint ?? VIEW_POINTS;
    if (!isPostgresUrl(opts.url)) {
      throw new StoreUnavailableError(redactPgUrl(opts.url), 'not a postgres:// URL');
    }
    this.url = opts.url;
    this.writerId = opts.writerId ?? randomUUID();
    this.migrations = opts.migrations ?? PG_MIGRATIONS;
    this.maxBatch = opts.maxBatch ?? 1000;
    this.pollMs = opts.pollMs ?? 2000;
    this.statementTimeoutMs = opts.statementTimeoutMs ?? 5000;
    this.log = opts.log;
    this.pool = new pg.Pool({ ...this.clientConfig(), max: 4, allowExitOnIdle: true });
    // A pooled connection the server dropped (a restart) is an error on an idle client; the
    // next query finds out and retries, so it is only noted here.
    this.pool.on('error', () => undefined);
  }

  private clientConfig(): pg.ClientConfig {
    return {
      connectionString: this.url,
      application_name: `jit-broker ${this.writerId}`,
      connectionTimeoutMillis: this.statementTimeoutMs,
      statement_timeout: this.statementTimeoutMs,
      // A broker paused (SIGSTOP) inside a transaction must not hold the lease row's lock: the
      // server ends its transaction, so the next leader can take the lease.
      idle_in_transaction_session_timeout: this.statementTimeoutMs,
    };
  }

  /** The database, for messages (password hidden). */
  get label(): string {
    return redactPgUrl(this.url);
  }

  /**
   * Connects, migrates, loads the view and starts listening. Throws `StoreUnavailableError` when
   * the database cannot be reached, `StoreSchemaTooNewError` when a newer version migrated it.
   */
  async open(): Promise<void> {
    if (this.opened) return;
    try {
      const client = await this.connect();
      try {
        await migratePg(client, this.label, this.migrations);
      } finally {
        client.release();
      }
      await this.refresh(true);
      await this.listen();
    } catch (err) {
      await this.pool.end().catch(() => undefined);
      this.closed = true;
      if (err instanceof StoreSchemaTooNewError) throw err;
      throw new StoreUnavailableError(this.label, (err as Error).message);
    }
    this.opened = true;
    this.pollTimer = setInterval(() => this.requestRefresh(), this.pollMs);
    this.pollTimer.unref();
  }

  /** Resolves once every change made before the call is in PostgreSQL. */
  flush(): Promise<void> {
    const upTo = this.enqueued;
    if (this.committed >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ upTo, resolve }));
  }

  /** Changes waiting to be written. */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether the last attempt to reach PostgreSQL failed. */
  get unreachable(): boolean {
    return this.down;
  }

  /**
   * A query on the store's pool (the lease and the workers table use it). Its type names no `pg`
   * type, so the package's declarations do not need `@types/pg`.
   */
  async query<R extends object>(text: string, values: unknown[] = []): Promise<{ rows: R[] }> {
    const result = await this.pool.query(text, values);
    return { rows: result.rows as R[] };
  }

  /** Queues a statement of the caller's (the workers table), written in order with the rest. */
  enqueueSql(text: string, values: unknown[], notify?: 'jit_workers'): void {
    this.enqueue({ kind: 'sql', text, values, fenced: false, ...(notify ? { notify } : {}) });
  }

  /** Notes that PostgreSQL failed (one log line per outage) or answered again. */
  reachable(ok: boolean, err?: unknown): void {
    if (ok && this.down) {
      this.down = false;
      this.log?.info(
        { store: this.label },
        'PostgreSQL is reachable again; writes and cycles resume',
      );
    } else if (!ok && !this.down) {
      this.down = true;
      this.log?.warn(
        { store: this.label, err: (err as Error | undefined)?.message },
        'PostgreSQL is unreachable: serving reads from memory, writes queued, cycles paused until it is back',
      );
    }
  }

  override syncEndpoints(entries: readonly EndpointEntry[]): void {
    // Only the leader's cycle syncs the endpoint list: fenced like its computations.
    this.inSync = true;
    try {
      super.syncEndpoints(entries);
    } finally {
      this.inSync = false;
    }
  }

  protected override saved(rec: EndpointRecord, point: HistoryPoint | undefined): void {
    super.saved(rec, this.viewPoints > 0 ? point : undefined);
    if (point) this.enqueue({ kind: 'value', rec, point, fenced: true });
    else this.enqueue({ kind: 'meta', rec, fenced: this.inSync });
  }

  protected override removed(name: string): void {
    super.removed(name);
    this.enqueue({ kind: 'remove', name, fenced: this.inSync });
  }

  private enqueue(op: Op): void {
    if (this.closed) return;
    this.queue.push(op);
    this.enqueued++;
    const name = op.kind === 'remove' ? op.name : op.kind === 'sql' ? undefined : op.rec.name;
    if (name !== undefined) this.pending.set(name, (this.pending.get(name) ?? 0) + 1);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    let backoffMs = 100;
    try {
      // Let the caller's synchronous burst (a whole cycle's results) gather into one batch.
      await new Promise((r) => setImmediate(r));
      let step = this.maxBatch;
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.queue.slice(0, step);
        try {
          await this.writeBatch(batch);
          this.reachable(true);
          backoffMs = 100;
          step = this.maxBatch;
        } catch (err) {
          if (this.closed) return;
          if (transient(err)) {
            this.reachable(false, err);
            await sleep(backoffMs);
            backoffMs = Math.min(backoffMs * 2, 2000);
            continue;
          }
          // The database refused a change (a bug, or data it cannot hold): find it by writing
          // one change per transaction, and drop it with an error rather than block the rest.
          if (batch.length > 1) {
            step = 1;
            continue;
          }
          this.log?.warn(
            { store: this.label, err: (err as Error).message, change: describeOp(batch[0]) },
            'PostgreSQL refused a change; it is dropped',
          );
        }
        this.queue.splice(0, batch.length);
        this.committed += batch.length;
        for (const op of batch) {
          const name = op.kind === 'remove' ? op.name : op.kind === 'sql' ? undefined : op.rec.name;
          if (name === undefined) continue;
          const left = (this.pending.get(name) ?? 1) - 1;
          if (left > 0) this.pending.set(name, left);
          else this.pending.delete(name);
        }
        const ready = this.waiters.filter((w) => w.upTo <= this.committed);
        this.waiters = this.waiters.filter((w) => w.upTo > this.committed);
        for (const w of ready) w.resolve();
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * A pooled connection, with a listener for errors that arrive between queries (the server
   * going away): without one they would be thrown as uncaught; the next query reports them.
   */
  private async connect(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    client.on('error', ignore);
    const release = client.release.bind(client);
    client.release = (err?: Error | boolean) => {
      client.off('error', ignore);
      release(err);
    };
    return client;
  }

  private async writeBatch(batch: readonly Op[]): Promise<void> {
    const client = await this.connect();
    let broken: Error | undefined;
    let refused = 0;
    try {
      await client.query('BEGIN');
      let fenceOk = true;
      if (this.fence !== undefined && batch.some((op) => op.fenced)) {
        // FOR KEY SHARE: a broker taking the lease (FOR UPDATE) waits until this transaction
        // ends, and one that took it before makes this read see its new token (READ COMMITTED
        // re-reads locked rows). The holder's renewals (FOR NO KEY UPDATE) do not wait for it.
        const r = await client.query<{ token: string }>(
          'SELECT token::text AS token FROM jit_leader WHERE id = 1 FOR KEY SHARE',
        );
        fenceOk = this.fence !== null && r.rows[0]?.token === this.fence;
      }
      let endpoints = false;
      let workers = false;
      for (const op of batch) {
        if (op.fenced && !fenceOk) {
          refused++;
          continue;
        }
        await this.apply(client, op);
        if (op.kind === 'sql') workers ||= op.notify === 'jit_workers';
        else endpoints = true;
      }
      // Sent at commit; the payload names the writer, which ignores its own.
      if (endpoints) await client.query("SELECT pg_notify('jit_endpoints', $1)", [this.writerId]);
      if (workers) await client.query("SELECT pg_notify('jit_workers', $1)", [this.writerId]);
      await client.query('COMMIT');
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
    if (refused > 0) this.onFenced?.(refused);
  }

  private async apply(client: pg.PoolClient, op: Op): Promise<void> {
    if (op.kind === 'sql') {
      await client.query(op.text, op.values);
    } else if (op.kind === 'remove') {
      await client.query(
        `UPDATE jit_endpoints SET deleted = true, stored_ms = NULL, status = 'never', computed_at_ms = NULL,
           attempted_at_ms = NULL, last = NULL, last_error = NULL, tx = ${TX} WHERE name = $1`,
        [op.name],
      );
      await client.query('DELETE FROM jit_history WHERE endpoint = $1', [op.name]);
    } else if (op.kind === 'meta') {
      const r = op.rec;
      // Options and origin are this change's; the values stay the database's (the leader's),
      // unless the row was a removed endpoint coming back (then it starts afresh, as here).
      await client.query(
        `INSERT INTO jit_endpoints (${ENDPOINT_COLUMNS}, tx)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, ${TX})
         ON CONFLICT (name) DO UPDATE SET origin = excluded.origin, options = excluded.options,
           stored_ms = CASE WHEN jit_endpoints.deleted THEN excluded.stored_ms ELSE jit_endpoints.stored_ms END,
           status = CASE WHEN jit_endpoints.deleted THEN excluded.status ELSE jit_endpoints.status END,
           computed_at_ms = CASE WHEN jit_endpoints.deleted THEN excluded.computed_at_ms ELSE jit_endpoints.computed_at_ms END,
           attempted_at_ms = CASE WHEN jit_endpoints.deleted THEN excluded.attempted_at_ms ELSE jit_endpoints.attempted_at_ms END,
           last = CASE WHEN jit_endpoints.deleted THEN excluded.last ELSE jit_endpoints.last END,
           last_error = CASE WHEN jit_endpoints.deleted THEN excluded.last_error ELSE jit_endpoints.last_error END,
           deleted = false, tx = excluded.tx`,
        [
          r.name,
          r.origin,
          JSON.stringify(r.options),
          r.storedMs ?? null,
          r.status,
          msOf(r.computedAt),
          msOf(r.attemptedAt),
          r.last ? JSON.stringify(r.last) : null,
          r.lastError ?? null,
        ],
      );
    } else {
      const { rec: r, point: p } = op;
      // Values never go backwards: an attempt older than the stored one, or one that would drop
      // a stored computation, changes nothing (and adds no history point).
      await client.query(
        `WITH u AS (
           UPDATE jit_endpoints SET stored_ms = $2::float8, status = $3::text,
             computed_at_ms = $4::float8, attempted_at_ms = $5::float8, last = $6::text,
             last_error = $7::text, tx = ${TX}
           WHERE name = $1::text AND NOT deleted
             AND (attempted_at_ms IS NULL OR attempted_at_ms <= $5::float8)
             AND (computed_at_ms IS NULL OR computed_at_ms <= coalesce($4::float8, -1))
           RETURNING name)
         INSERT INTO jit_history (endpoint, at_ms, ok, computed_ms, stored_ms, served_ms, strategy,
           samples, percentiles, error, writer, reason, tx)
         SELECT name, $8::float8, $9::boolean, $10::float8, $11::float8, $12::float8, $13::text,
           $14::integer, $15::text, $16::text, $17::text, $18::text, ${TX} FROM u`,
        [
          r.name,
          r.storedMs ?? null,
          r.status,
          msOf(r.computedAt),
          msOf(r.attemptedAt),
          r.last ? JSON.stringify(r.last) : null,
          r.lastError ?? null,
          Date.parse(p.at),
          p.ok,
          p.computedMs,
          p.storedMs,
          p.servedMs,
          p.strategy,
          p.samples,
          p.percentilesMs ? JSON.stringify(p.percentilesMs) : null,
          p.error,
          this.writerId,
          p.reason,
        ],
      );
    }
  }

  /** Re-reads other brokers' changes soon (coalesced: one read at a time, one more queued). */
  requestRefresh(): void {
    if (this.closed) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.refresh(false)
      .then(() => this.reachable(true))
      .catch((err: unknown) => {
        if (!this.closed) this.reachable(false, err);
      })
      .finally(() => {
        this.refreshing = undefined;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.requestRefresh();
        }
      });
  }

  /**
   * Reads the rows changed since the last read and applies them to the view. Rows are selected
   * by the id of the transaction that wrote them, from the oldest transaction still running at
   * the last read (its snapshot's xmin) on: a transaction that committed after a read began is
   * read next time, whatever order ids and commits came in. Rows read twice change nothing.
   * `full` reads everything and makes the view exactly the database (after losing the lease).
   */
  async refresh(full: boolean): Promise<void> {
    const client = await this.connect();
    let broken: Error | undefined;
    let rows: EndpointRow[] = [];
    let points: HistoryRow[] = [];
    let loaded: LoadedView | undefined;
    let xmin: string;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snap = await client.query<{ xmin: string }>(
        'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
      );
      xmin = snap.rows[0]?.xmin ?? '0';
      if (full) {
        loaded = await this.loadView(client, BigInt(xmin));
      } else {
        rows = (
          await client.query<EndpointRow>(
            `SELECT ${ENDPOINT_COLUMNS} FROM jit_endpoints WHERE tx >= $1::bigint`,
            [this.sinceTx],
          )
        ).rows;
        // Other brokers' new points, for a view that keeps some (by default it keeps none).
        if (this.viewPoints > 0) {
          points = (
            await client.query<HistoryRow>(
              `SELECT ${HISTORY_COLUMNS} FROM jit_history
               WHERE tx >= $1::bigint AND writer <> $2 ORDER BY at_ms, id`,
              [this.sinceTx, this.writerId],
            )
          ).rows;
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
    if (loaded) this.replaceView(loaded);
    else this.mergeView(rows, points);
    this.sinceTx = xmin;
  }

  /**
   * The whole view, read in chunks of endpoints (by name) inside the caller's snapshot: each
   * chunk's rows become records and points at once, so the raw rows of 100 000 endpoints (their
   * `last` JSON texts) are never all held together. Each endpoint's recent points come from the
   * (endpoint, at_ms) index, newest first, `viewPoints` at most: the rest of a day's or a week's
   * history is not read.
   */
  private async loadView(client: pg.PoolClient, xmin: bigint): Promise<LoadedView> {
    const view: LoadedView = { records: [], points: [], seen: new Set() };
    const cutoff = this.now() - this.retentionMs;
    let after: string | undefined;
    for (;;) {
      const rows = (
        await client.query<EndpointRow>(
          `SELECT ${ENDPOINT_COLUMNS} FROM jit_endpoints
           WHERE NOT deleted ${after === undefined ? '' : 'AND name > $2'} ORDER BY name LIMIT $1`,
          after === undefined ? [LOAD_CHUNK] : [LOAD_CHUNK, after],
        )
      ).rows;
      if (rows.length === 0) break;
      after = (rows[rows.length - 1] as EndpointRow).name;
      for (const row of rows) view.records.push(recordOf(row));
      if (this.viewPoints > 0) {
        const chunk = (
          await client.query<HistoryRow>(
            `SELECT h.* FROM unnest($1::text[]) AS e(name) CROSS JOIN LATERAL (
               SELECT ${HISTORY_COLUMNS} FROM jit_history
               WHERE endpoint = e.name AND at_ms >= $2 ORDER BY at_ms DESC, id DESC LIMIT $3) h`,
            [rows.map((r) => r.name), cutoff, this.viewPoints],
          )
        ).rows;
        for (const p of chunk) {
          // Points of transactions from xmin on are read again by the next re-read: not twice.
          if (BigInt(p.tx) >= xmin) view.seen.add(p.id);
          view.points.push({ endpoint: p.endpoint, id: BigInt(p.id), point: pointOf(p) });
        }
      }
      if (rows.length < LOAD_CHUNK) break;
    }
    return view;
  }

  private replaceView(view: LoadedView): void {
    const keep = new Set(view.records.map((r) => r.name));
    for (const name of [...this.records.keys()]) {
      if (!keep.has(name)) this.records.delete(name);
      super.removed(name); // clears the view's points of every endpoint; reloaded below
    }
    this.anyValue = false;
    for (const rec of view.records) this.applyRecord(rec, true);
    this.seenPoints = view.seen;
    const at = (p: LoadedPoint) => Date.parse(p.point.at);
    view.points.sort((a, b) => at(a) - at(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const p of view.points) {
      const rec = this.records.get(p.endpoint);
      if (rec) super.saved(rec, p.point);
    }
  }

  private mergeView(rows: EndpointRow[], points: HistoryRow[]): void {
    for (const row of rows) {
      // A change of ours still queued is newer than this row: it stays, and the row is read
      // again once our write lands (its transaction id is then past this read's xmin).
      if (this.pending.has(row.name)) continue;
      this.applyRecord(row.deleted ? row.name : recordOf(row), false);
    }
    const seen = new Set<string>();
    for (const p of points) {
      seen.add(p.id);
      if (this.seenPoints.has(p.id)) continue;
      this.applyPoint(p);
    }
    this.seenPoints = seen;
  }

  /** Takes a record read from the database (a name: the endpoint was deleted). */
  private applyRecord(remote: EndpointRecord | string, exact: boolean): void {
    const name = typeof remote === 'string' ? remote : remote.name;
    const local = this.records.get(name);
    if (typeof remote === 'string') {
      if (local) {
        this.records.delete(name);
        super.removed(name);
      }
      return;
    }
    let next = remote;
    if (local && !exact) {
      // The view never goes back: values whose attempt is older than ours are not taken.
      const localAt = msOf(local.attemptedAt) ?? -1;
      const remoteAt = msOf(remote.attemptedAt) ?? -1;
      if (localAt > remoteAt) next = { ...local, options: remote.options, origin: remote.origin };
    }
    // An unchanged record keeps its object (the served JSON is cached per object).
    if (local && JSON.stringify(local) === JSON.stringify(next)) return;
    this.records.set(name, next);
    if (next.storedMs !== undefined) this.anyValue = true;
  }

  private applyPoint(p: HistoryRow): void {
    const rec = this.records.get(p.endpoint);
    if (rec && this.viewPoints > 0) super.saved(rec, pointOf(p));
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(this.clientConfig());
    client.on('notification', (msg) => {
      if (msg.payload === this.writerId) return;
      if (msg.channel === 'jit_endpoints') this.requestRefresh();
      else if (msg.channel === 'jit_workers') this.onWorkersChanged?.();
    });
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      void this.relisten();
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.connect();
    await client.query('LISTEN jit_endpoints');
    await client.query('LISTEN jit_workers');
    this.listener = client;
  }

  /** Reconnects the listener after the database went away, then reads what was missed. */
  private async relisten(): Promise<void> {
    let backoffMs = 200;
    while (!this.closed && this.listener === undefined) {
      try {
        await this.listen();
        this.reachable(true);
        this.requestRefresh();
        this.onWorkersChanged?.();
        return;
      } catch (err) {
        this.reachable(false, err);
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 2000);
      }
    }
  }

  /**
   * The points the view has: the most recent `maxPointsPerEndpoint` when it keeps some, else
   * the last attempt (the record holds it). `readHistory()` answers all of them.
   */
  override history(name: string, query: HistoryQuery = {}): HistoryPoint[] {
    if (this.viewPoints > 0) return super.history(name, query);
    const rec = this.records.get(name);
    const last = rec ? lastAttempt(rec) : undefined;
    const since = Math.max(query.sinceMs ?? 0, this.now() - this.retentionMs);
    return last && Date.parse(last.at) >= since && (query.limit ?? 1000) > 0 ? [last] : [];
  }

  /**
   * The endpoint's history as `MemoryStore.history()` answers it with every point kept: read
   * from PostgreSQL, with this broker's points still on their way there. While PostgreSQL
   * cannot answer, what the view has (`history()`) and the points on their way.
   */
  async readHistory(name: string, query: HistoryQuery = {}): Promise<HistoryPoint[]> {
    const limit = query.limit ?? 1000;
    const since = Math.max(query.sinceMs ?? 0, this.now() - this.retentionMs);
    if (!this.records.has(name)) return [];
    // Taken before the read: a batch written while it runs is either in its answer or here.
    let queued: HistoryPoint[] = [];
    let removed = false;
    for (const op of this.queue) {
      if (op.kind === 'value' && op.rec.name === name) queued.push(op.point);
      else if (op.kind === 'remove' && op.name === name) {
        // Removed (and added again) since PostgreSQL last heard: its rows there are the old ones.
        queued = [];
        removed = true;
      }
    }
    if (removed) return mergePoints([], queued, since, limit);
    let rows: HistoryRow[];
    try {
      rows = (
        await this.pool.query<HistoryRow>(
          `SELECT ${HISTORY_COLUMNS} FROM jit_history WHERE endpoint = $1 AND at_ms >= $2
           ORDER BY at_ms DESC, id DESC LIMIT $3`,
          [name, since, limit],
        )
      ).rows;
      this.reachable(true);
    } catch (err) {
      if (this.closed || !transient(err)) throw err;
      this.reachable(false, err);
      return mergePoints(this.history(name, query), queued, since, limit);
    }
    return mergePoints(rows.reverse().map(pointOf), queued, since, limit);
  }

  /** Deletes history past the retention (the leader runs it once per cycle). */
  pruneHistory(): void {
    this.enqueue({
      kind: 'sql',
      text: 'DELETE FROM jit_history WHERE at_ms < $1',
      values: [this.now() - this.retentionMs],
      fenced: false,
    });
  }

  /**
   * Stops: waits up to `graceMs` for the queued changes, then closes the connections. What is
   * still queued after that is lost (the leader's next cycle computes it again).
   */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    if (this.opened && this.queue.length > 0) {
      await Promise.race([this.flush(), sleep(graceMs)]);
    }
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  override close(): void {
    void this.shutdown();
  }
}

// Many brokers on one PostgreSQL store: the leader lease (with its fencing token) and the shared worker table.
import type { FastifyBaseLogger } from 'fastify';
import type { PgStore } from '../store/pg-store.ts';
import type { CycleRunner } from './cycle.ts';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.ts';

export interface ClusterDeps {
  store: PgStore;
  cycles: CycleRunner;
  registry: WorkerRegistry;
  log: FastifyBaseLogger;
  /** The leader lease (ms): renewed every third of it. */
  leaseMs: number;
  /** Re-read of the workers table, should a notification be lost. Default 2000 (ms). */
  workerPollMs?: number;
}

interface WorkerRow {
  url: string;
  id: string;
  protocol: string;
  concurrency: number;
  max_batch: number;
  max_job_ms: number | null;
  registered_at_ms: number;
  last_heartbeat_ms: number;
  lease_ms: number;
  gone: boolean;
}

/**
 * Runs the cycles on exactly one broker of those sharing the store. The lease is a row
 * (`jit_leader`): holder, fencing token, expiry on the database's clock. A broker takes it when
 * it expired (token + 1) and renews it every third of the lease while it holds it. The store
 * writes computations only while the row still carries the leader's token (checked in the
 * writing transaction), so a leader that was paused past its lease cannot overwrite its
 * successor's values when it wakes up (docs/decisions.md, "Many brokers").
 */
export class Cluster {
  private leaseTimer: NodeJS.Timeout | undefined;
  private workerTimer: NodeJS.Timeout | undefined;
  private token: string | undefined;
  /** performance.now() when the last successful renewal was sent. */
  private renewedAt = 0;
  private ticking = false;
  private stopped = false;
  private syncingWorkers = false;
  private prunedAt = 0;

  constructor(private readonly deps: ClusterDeps) {
    deps.store.fence = null;
    deps.store.onFenced = (refused) => {
      if (this.token === undefined) return;
      this.lose({ refused }, 'writes refused: another broker holds the leader lease');
    };
    deps.store.onWorkersChanged = () => void this.syncWorkers();
  }

  /** Whether this broker runs the cycles now. */
  get leader(): boolean {
    return this.token !== undefined;
  }

  /** The fencing token of this broker's lease, while it leads. */
  get fencingToken(): string | undefined {
    return this.token;
  }

  /** Starts competing for the lease and following the workers table. */
  async start(): Promise<void> {
    await this.syncWorkers();
    await this.tick();
    const every = Math.max(100, Math.floor(this.deps.leaseMs / 3));
    this.leaseTimer = setInterval(() => void this.tick(), every);
    this.workerTimer = setInterval(() => void this.syncWorkers(), this.deps.workerPollMs ?? 2000);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    const { store, leaseMs } = this.deps;
    const sentAt = performance.now();
    try {
      // The database's clock decides expiry: brokers' clocks may disagree. The holder renews
      // with a plain UPDATE (a FOR NO KEY UPDATE row lock), which does not wait for its own
      // write transactions (they hold FOR KEY SHARE). Taking the lease locks the row FOR UPDATE
      // first, which waits for every write transaction in flight: after it, writes with the
      // old token are refused (see PgStore.writeBatch).
      const r =
        this.token !== undefined
          ? await store.query<{ token: string }>(
              `UPDATE jit_leader SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
               WHERE id = 1 AND holder = $1 AND token = $2::bigint
               RETURNING token::text AS token`,
              [store.writerId, this.token, leaseMs],
            )
          : await store.query<{ token: string }>(
              `UPDATE jit_leader l SET holder = $1, token = l.token + 1,
                 expires_at = clock_timestamp() + $2 * interval '1 millisecond'
               FROM (SELECT id FROM jit_leader WHERE id = 1 FOR UPDATE) s
               WHERE l.id = s.id AND l.expires_at < clock_timestamp()
               RETURNING l.token::text AS token`,
              [store.writerId, leaseMs],
            );
      store.reachable(true);
      if (this.stopped) return;
      const token = r.rows[0]?.token;
      if (token === undefined) {
        if (this.token !== undefined) {
          this.lose({ token: this.token }, 'leader lease lost to another broker');
        }
        return;
      }
      this.renewedAt = sentAt;
      if (this.token === undefined) await this.lead(token);
      // History past the retention goes, a minute apart at most (one indexed DELETE).
      if (Date.now() - this.prunedAt > 60_000) {
        this.prunedAt = Date.now();
        store.pruneHistory();
      }
    } catch (err) {
      store.reachable(false, err);
      // Without a renewal the lease runs out on the database's clock: stop before it does, so
      // two brokers never run cycles at once.
      if (this.token !== undefined && performance.now() - this.renewedAt > leaseMs * 0.9) {
        this.lose({}, 'leader lease not renewed in time');
      }
    } finally {
      this.ticking = false;
    }
  }

  private async lead(token: string): Promise<void> {
    const { store, cycles, log } = this.deps;
    // Start from what the previous leader wrote (notifications may still be on their way).
    await store.refresh(false);
    store.fence = token;
    this.token = token;
    log.info({ token }, 'leader lease taken: this broker runs the cycles');
    cycles.start();
  }

  private lose(details: Record<string, unknown>, why: string): void {
    const { store, cycles, log } = this.deps;
    log.warn({ ...details, token: this.token }, `${why}; cycles stop here`);
    this.token = undefined;
    store.fence = null;
    void cycles.stop().then(async () => {
      // Values this broker computed but could not write are dropped: the view becomes the
      // database's again.
      try {
        await store.refresh(true);
      } catch (err) {
        log.warn(
          { err: (err as Error).message },
          'cannot re-read the store after losing the lease',
        );
      }
    });
  }

  /** Passes a change of the local registry to the other brokers. */
  workerChanged(event: 'register' | 'heartbeat' | 'unregister' | 'evict', w: WorkerRecord): void {
    const { store } = this.deps;
    if (event === 'register') {
      store.enqueueSql(
        `INSERT INTO jit_workers (url, id, protocol, concurrency, max_batch, max_job_ms,
           registered_at_ms, last_heartbeat_ms, lease_ms, gone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false)
         ON CONFLICT (url) DO UPDATE SET id = excluded.id, protocol = excluded.protocol,
           concurrency = excluded.concurrency, max_batch = excluded.max_batch,
           max_job_ms = excluded.max_job_ms, registered_at_ms = excluded.registered_at_ms,
           last_heartbeat_ms = excluded.last_heartbeat_ms, lease_ms = excluded.lease_ms, gone = false`,
        [
          w.url,
          w.id,
          w.protocol,
          w.concurrency,
          w.maxBatch,
          w.maxJobMs ?? null,
          w.registeredAt,
          w.lastHeartbeatAt,
          w.leaseMs,
        ],
        'jit_workers',
      );
    } else if (event === 'heartbeat') {
      // Heartbeats are not announced: the others read them at their next poll, well inside a lease.
      store.enqueueSql(
        'UPDATE jit_workers SET last_heartbeat_ms = greatest(last_heartbeat_ms, $2), gone = false WHERE id = $1',
        [w.id, w.lastHeartbeatAt],
      );
    } else {
      store.enqueueSql(
        'UPDATE jit_workers SET gone = true, last_heartbeat_ms = greatest(last_heartbeat_ms, $2) WHERE id = $1',
        [w.id, Date.now()],
        'jit_workers',
      );
    }
  }

  /** Makes the local registry follow the workers table. */
  async syncWorkers(): Promise<void> {
    if (this.syncingWorkers || this.stopped) return;
    this.syncingWorkers = true;
    try {
      const now = Date.now();
      const { rows } = await this.deps.store.query<WorkerRow>(
        `SELECT url, id, protocol, concurrency, max_batch, max_job_ms, registered_at_ms,
           last_heartbeat_ms, lease_ms, gone FROM jit_workers
         WHERE last_heartbeat_ms + lease_ms >= $1`,
        [now],
      );
      for (const row of rows) {
        if (row.gone) {
          this.deps.registry.forget(row.id, row.last_heartbeat_ms);
          continue;
        }
        this.deps.registry.adopt({
          id: row.id,
          url: row.url,
          protocol: row.protocol === 'legacy' ? 'legacy' : 'v1',
          concurrency: row.concurrency,
          maxBatch: row.max_batch,
          maxJobMs: row.max_job_ms ?? undefined,
          registeredAt: row.registered_at_ms,
          lastHeartbeatAt: row.last_heartbeat_ms,
          leaseMs: row.lease_ms,
        });
      }
      // A worker registered here while the cycle skipped for lack of one: start it now.
      if (
        this.leader &&
        this.deps.cycles.last?.skipped === 'No workers registered' &&
        rows.length > 0
      )
        this.deps.cycles.kick();
    } catch (err) {
      this.deps.store.reachable(false, err);
    } finally {
      this.syncingWorkers = false;
    }
  }

  /** Stops competing; a leader hands the lease back so another broker takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.workerTimer) clearInterval(this.workerTimer);
    // The cycle in flight finishes and its values are written (still under the lease).
    await this.deps.cycles.stop();
    await Promise.race([this.deps.store.flush(), new Promise((r) => setTimeout(r, 2000))]);
    const token = this.token;
    this.token = undefined;
    this.deps.store.fence = null;
    if (token !== undefined) {
      await this.deps.store
        .query(
          `UPDATE jit_leader SET expires_at = '-infinity' WHERE id = 1 AND holder = $1 AND token = $2::bigint`,
          [this.deps.store.writerId, token],
        )
        .catch(() => undefined);
    }
  }
}

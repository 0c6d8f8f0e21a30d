// Registry of workers: registration by reachable URL, leases renewed by heartbeats, eviction.
import { randomUUID } from 'node:crypto';
import { InvalidWorkerUrlError, UnknownWorkerError, WorkerLimitError } from '../core/errors.ts';

/** `v1`: JSON POST /v1/compute; `legacy`: the original's GET /computetimeout (text). */
export type WorkerProtocol = 'v1' | 'legacy';

export interface WorkerRecord {
  id: string;
  url: string;
  protocol: WorkerProtocol;
  concurrency: number;
  /** Jobs the worker takes in one call (POST /v1/compute/batch); 1 when it announced none. */
  maxBatch: number;
  /** Longest a job may take on this worker (its strategy's time budget), when it announced one (ms). */
  maxJobMs: number | undefined;
  registeredAt: number;
  lastHeartbeatAt: number;
  leaseMs: number;
  jobsDone: number;
  jobsFailed: number;
  inFlight: number;
}

export interface RegistryOptions {
  leaseMs: number;
  legacyLeaseMs: number;
  /**
   * How long after its last GET /register a legacy worker is kept despite a refused connection
   * (the original worker registers before it listens). Default 0 (ms, none).
   */
  legacyGraceMs?: number;
  defaultConcurrency: number;
  maxWorkers: number;
  now?: () => number;
  onEvict?: (worker: WorkerRecord, reason: string) => void;
  /**
   * A registration, heartbeat, unregistration or eviction made here (not a lease running out,
   * which every broker sees by itself): the shared store passes them to the other brokers.
   */
  onChange?: (
    event: 'register' | 'heartbeat' | 'unregister' | 'evict',
    worker: WorkerRecord,
  ) => void;
}

/** Normalises a worker URL: http(s) only, no credentials, query or fragment; no trailing slash. */
export function normalizeWorkerUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0)
    throw new InvalidWorkerUrlError('"url" must be a non-empty string');
  if (raw.length > 2048) throw new InvalidWorkerUrlError('longer than 2048 characters');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InvalidWorkerUrlError(`"${raw.slice(0, 100)}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new InvalidWorkerUrlError('scheme must be http or https');
  if (u.username || u.password) throw new InvalidWorkerUrlError('must not contain credentials');
  if (u.search || u.hash) throw new InvalidWorkerUrlError('must not contain a query or fragment');
  return u.toString().replace(/\/+$/, '');
}

export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerRecord>();
  private readonly now: () => number;

  constructor(private readonly opts: RegistryOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Registers (or renews, for a URL already known) a worker; answers its record. */
  register(
    url: string,
    protocol: WorkerProtocol,
    concurrency?: number,
    maxJobMs?: number,
    maxBatch?: number,
  ): WorkerRecord {
    const normalized = normalizeWorkerUrl(url);
    const t = this.now();
    for (const w of this.workers.values()) {
      if (w.url === normalized) {
        // Same URL again: the same worker restarted or re-announced itself; keep its id.
        w.lastHeartbeatAt = t;
        w.protocol = protocol;
        if (concurrency !== undefined) w.concurrency = concurrency;
        w.maxJobMs = maxJobMs;
        w.maxBatch = maxBatch ?? 1;
        w.leaseMs = protocol === 'legacy' ? this.opts.legacyLeaseMs : this.opts.leaseMs;
        this.opts.onChange?.('register', w);
        return w;
      }
    }
    if (this.workers.size >= this.opts.maxWorkers) {
      throw new WorkerLimitError(this.opts.maxWorkers);
    }
    const rec: WorkerRecord = {
      id: randomUUID(),
      url: normalized,
      protocol,
      concurrency: concurrency ?? this.opts.defaultConcurrency,
      maxJobMs,
      maxBatch: maxBatch ?? 1,
      registeredAt: t,
      lastHeartbeatAt: t,
      leaseMs: protocol === 'legacy' ? this.opts.legacyLeaseMs : this.opts.leaseMs,
      jobsDone: 0,
      jobsFailed: 0,
      inFlight: 0,
    };
    this.workers.set(rec.id, rec);
    this.opts.onChange?.('register', rec);
    return rec;
  }

  heartbeat(id: string): WorkerRecord {
    const w = this.workers.get(id);
    if (!w) throw new UnknownWorkerError(id);
    w.lastHeartbeatAt = this.now();
    this.opts.onChange?.('heartbeat', w);
    return w;
  }

  unregister(id: string): void {
    const w = this.workers.get(id);
    if (!w || !this.workers.delete(id)) throw new UnknownWorkerError(id);
    this.opts.onChange?.('unregister', w);
  }

  /**
   * Takes in a worker another broker registered (from the shared store): same id everywhere, so
   * its heartbeats may reach any broker. A worker known here under the same URL is replaced; one
   * known under the same id keeps its counters and the later of the two heartbeats.
   */
  adopt(w: Omit<WorkerRecord, 'jobsDone' | 'jobsFailed' | 'inFlight'>): WorkerRecord {
    const mine = this.workers.get(w.id);
    if (mine) {
      Object.assign(mine, {
        ...w,
        lastHeartbeatAt: Math.max(mine.lastHeartbeatAt, w.lastHeartbeatAt),
      });
      return mine;
    }
    for (const other of this.workers.values()) {
      if (other.url === w.url) this.workers.delete(other.id);
    }
    const rec: WorkerRecord = { ...w, jobsDone: 0, jobsFailed: 0, inFlight: 0 };
    this.workers.set(rec.id, rec);
    return rec;
  }

  /** Drops a worker another broker unregistered or evicted, unless it was heard from since. */
  forget(id: string, asOf: number): void {
    const w = this.workers.get(id);
    if (w && w.lastHeartbeatAt <= asOf) this.workers.delete(id);
  }

  /** Removes the worker with this URL, if any; answers whether one was removed. */
  unregisterUrl(url: string): boolean {
    const normalized = normalizeWorkerUrl(url);
    for (const w of this.workers.values()) {
      if (w.url === normalized) {
        this.workers.delete(w.id);
        this.opts.onChange?.('unregister', w);
        return true;
      }
    }
    return false;
  }

  evict(id: string, reason: string): void {
    const w = this.workers.get(id);
    if (w && this.workers.delete(id)) {
      this.opts.onEvict?.(w, reason);
      this.opts.onChange?.('evict', w);
    }
  }

  /** Evicts every worker whose lease ran out. */
  sweep(): void {
    const t = this.now();
    for (const w of [...this.workers.values()]) {
      if (t - w.lastHeartbeatAt > w.leaseMs && this.workers.delete(w.id))
        this.opts.onEvict?.(w, `no heartbeat for ${t - w.lastHeartbeatAt} ms`);
    }
  }

  /**
   * Whether a refused connection must not evict this worker yet: a legacy worker within
   * `legacyGraceMs` of its last GET /register (its heartbeat), which may not listen yet.
   */
  inGrace(worker: WorkerRecord): boolean {
    return (
      worker.protocol === 'legacy' &&
      this.now() - worker.lastHeartbeatAt < (this.opts.legacyGraceMs ?? 0)
    );
  }

  get(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  list(): WorkerRecord[] {
    this.sweep();
    return [...this.workers.values()];
  }

  get size(): number {
    return this.workers.size;
  }
}

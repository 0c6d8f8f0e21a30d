// In-memory TimeoutStore: the table of endpoints, their values and statuses, and a bounded history.
import { staleReason } from '../core/serving.ts';
import type {
  ComputationInfo,
  EndpointEntry,
  EndpointOrigin,
  EndpointRecord,
  HistoryPoint,
  HistoryQuery,
  TimeoutStore,
} from './types.ts';

export interface MemoryStoreOptions {
  /** History older than this is dropped. Default 7 days (ms). */
  retentionMs?: number;
  /** At most this many history points per endpoint kept in memory. Default 2016 (a week at one per 5 min). */
  maxPointsPerEndpoint?: number;
  now?: () => number;
}

function newRecord(name: string, entry: EndpointEntry, origin: EndpointOrigin): EndpointRecord {
  return {
    name,
    options: entry.options,
    origin,
    storedMs: undefined,
    status: 'never',
    computedAt: undefined,
    last: undefined,
    lastError: undefined,
    attemptedAt: undefined,
  };
}

/**
 * The endpoint table in memory. Subclasses persist it by overriding the `saved`, `removed` and
 * history hooks, which run for every change (the SQLite store writes each in a transaction).
 */
export class MemoryStore implements TimeoutStore {
  protected readonly records = new Map<string, EndpointRecord>();
  private readonly points = new Map<string, HistoryPoint[]>();
  protected anyValue = false;
  protected readonly retentionMs: number;
  private readonly maxPoints: number;
  protected readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.retentionMs = opts.retentionMs ?? 7 * 86_400_000;
    this.maxPoints = opts.maxPointsPerEndpoint ?? 2016;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.records.size;
  }

  get(name: string): EndpointRecord | undefined {
    return this.records.get(name);
  }

  list(): EndpointRecord[] {
    return [...this.records.values()];
  }

  hasAnyValue(): boolean {
    return this.anyValue;
  }

  history(name: string, query: HistoryQuery = {}): HistoryPoint[] {
    const all = this.points.get(name) ?? [];
    const since = Math.max(query.sinceMs ?? 0, this.now() - this.retentionMs);
    const kept = all.filter((p) => Date.parse(p.at) >= since);
    return kept.slice(Math.max(0, kept.length - (query.limit ?? 1000)));
  }

  /** Hook: a record was created or changed, with the history point the change made (if any). */
  protected saved(rec: EndpointRecord, point: HistoryPoint | undefined): void {
    if (!point) return;
    let list = this.points.get(rec.name);
    if (!list) this.points.set(rec.name, (list = []));
    list.push(point);
    const cutoff = this.now() - this.retentionMs;
    let drop = Math.max(0, list.length - this.maxPoints);
    while (drop < list.length && Date.parse((list[drop] as HistoryPoint).at) < cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
  }

  /** Hook: a record was removed. */
  protected removed(name: string): void {
    this.points.delete(name);
  }

  /** Hook: several changes that belong together (one sync) start and end. */
  protected batch(fn: () => void): void {
    fn();
  }

  syncEndpoints(entries: readonly EndpointEntry[]): void {
    this.batch(() => {
      const wanted = new Set(entries.map((e) => e.name));
      for (const rec of [...this.records.values()]) {
        if (rec.origin === 'file' && !wanted.has(rec.name)) {
          this.records.delete(rec.name);
          this.removed(rec.name);
        }
      }
      for (const entry of entries) {
        const existing = this.records.get(entry.name);
        if (existing?.origin === 'api') continue; // the API's settings win until it removes it
        if (
          existing?.origin === 'file' &&
          JSON.stringify(existing.options) === JSON.stringify(entry.options)
        )
          continue;
        // A discovered endpoint the file lists is the file's from now on (its value is kept).
        this.commit(
          existing
            ? { ...existing, options: entry.options, origin: 'file' }
            : newRecord(entry.name, entry, 'file'),
          undefined,
        );
      }
    });
  }

  addDiscovered(
    names: readonly string[],
    origin: Extract<EndpointOrigin, 'otlp' | 'discovered'> = 'otlp',
  ): string[] {
    const added: string[] = [];
    this.batch(() => {
      for (const name of names) {
        if (this.records.has(name)) continue;
        this.commit(newRecord(name, { name, options: {} }, origin), undefined);
        added.push(name);
      }
    });
    return added;
  }

  upsertEndpoint(entry: EndpointEntry): EndpointRecord {
    const prev = this.records.get(entry.name);
    const rec: EndpointRecord = prev
      ? { ...prev, options: entry.options, origin: 'api' }
      : newRecord(entry.name, entry, 'api');
    this.commit(rec, undefined);
    return rec;
  }

  removeEndpoint(name: string): boolean {
    if (!this.records.delete(name)) return false;
    this.removed(name);
    return true;
  }

  /** Persists `next` (the hooks may throw), and only then makes it the endpoint's record. */
  private commit(next: EndpointRecord, point: HistoryPoint | undefined): void {
    this.saved(next, point);
    this.records.set(next.name, next);
  }

  recordSuccess(name: string, storedMs: number, info: ComputationInfo, at: Date): void {
    const prev = this.records.get(name);
    if (!prev) return; // removed from the list while its job ran
    const computedAt = at.toISOString();
    const rec: EndpointRecord = {
      ...prev,
      storedMs,
      status: 'fresh',
      computedAt,
      attemptedAt: computedAt,
      last: info,
      lastError: undefined,
    };
    this.commit(rec, {
      at: computedAt,
      ok: true,
      computedMs: info.computedMs,
      storedMs,
      servedMs: info.servedMs,
      strategy: info.strategy,
      samples: info.samples,
      percentilesMs: info.percentilesMs,
      error: null,
      reason: info.reason ?? null,
    });
    this.anyValue = true;
  }

  recordFailure(name: string, error: string, at: Date): void {
    const prev = this.records.get(name);
    if (!prev) return;
    const attemptedAt = at.toISOString();
    const rec: EndpointRecord = {
      ...prev,
      status: prev.storedMs === undefined ? 'never' : 'stale',
      lastError: error,
      attemptedAt,
    };
    this.commit(rec, {
      at: attemptedAt,
      ok: false,
      computedMs: null,
      storedMs: rec.storedMs ?? null,
      servedMs: rec.last?.servedMs ?? null,
      strategy: rec.last?.strategy ?? null,
      samples: null,
      percentilesMs: null,
      error,
      // The value in force is the previous one (or none): its reason, marked stale.
      reason: rec.last ? staleReason(rec.last.reason) : null,
    });
  }

  close(): void {
    // Nothing to release.
  }
}

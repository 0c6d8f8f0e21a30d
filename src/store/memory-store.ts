// In-memory TimeoutStore: the table of endpoints, their stored values and statuses.
import type {
  ComputationInfo,
  EndpointEntry,
  EndpointRecord,
  HistoryPoint,
  HistoryQuery,
  TimeoutStore,
} from './types.ts';

export interface MemoryStoreOptions {
  /** History older than this is dropped. Default 7 days (ms). */
  retentionMs?: number;
  /** At most this many history points per endpoint. Default 2016 (a week at one per 5 min). */
  maxPointsPerEndpoint?: number;
  now?: () => number;
}

export class MemoryStore implements TimeoutStore {
  private readonly records = new Map<string, EndpointRecord>();
  private readonly points = new Map<string, HistoryPoint[]>();
  private anyValue = false;
  private readonly retentionMs: number;
  private readonly maxPoints: number;
  private readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.retentionMs = opts.retentionMs ?? 7 * 86_400_000;
    this.maxPoints = opts.maxPointsPerEndpoint ?? 2016;
    this.now = opts.now ?? Date.now;
  }

  history(name: string, query: HistoryQuery = {}): HistoryPoint[] {
    const all = this.points.get(name) ?? [];
    const since = Math.max(query.sinceMs ?? 0, this.now() - this.retentionMs);
    const kept = all.filter((p) => Date.parse(p.at) >= since);
    return kept.slice(Math.max(0, kept.length - (query.limit ?? 1000)));
  }

  private append(name: string, point: HistoryPoint): void {
    let list = this.points.get(name);
    if (!list) this.points.set(name, (list = []));
    list.push(point);
    const cutoff = this.now() - this.retentionMs;
    let drop = Math.max(0, list.length - this.maxPoints);
    while (drop < list.length && Date.parse((list[drop] as HistoryPoint).at) < cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
  }

  get(name: string): EndpointRecord | undefined {
    return this.records.get(name);
  }

  list(): EndpointRecord[] {
    return [...this.records.values()];
  }

  syncEndpoints(entries: readonly EndpointEntry[]): void {
    const wanted = new Set(entries.map((e) => e.name));
    for (const name of this.records.keys()) {
      if (!wanted.has(name)) {
        this.records.delete(name);
        this.points.delete(name);
      }
    }
    for (const { name, options } of entries) {
      const existing = this.records.get(name);
      if (existing) existing.options = options;
      else {
        this.records.set(name, {
          name,
          options,
          storedMs: undefined,
          status: 'never',
          computedAt: undefined,
          last: undefined,
          lastError: undefined,
          attemptedAt: undefined,
        });
      }
    }
  }

  hasAnyValue(): boolean {
    return this.anyValue;
  }

  recordSuccess(name: string, storedMs: number, info: ComputationInfo, at: Date): void {
    const rec = this.records.get(name);
    if (!rec) return; // removed from the list while its job ran
    rec.storedMs = storedMs;
    rec.status = 'fresh';
    rec.computedAt = at.toISOString();
    rec.attemptedAt = rec.computedAt;
    rec.last = info;
    rec.lastError = undefined;
    this.anyValue = true;
    this.append(name, {
      at: rec.computedAt,
      ok: true,
      computedMs: info.computedMs,
      storedMs,
      servedMs: info.servedMs,
      strategy: info.strategy,
      samples: info.samples,
      percentilesMs: info.percentilesMs,
      error: null,
    });
  }

  recordFailure(name: string, error: string, at: Date): void {
    const rec = this.records.get(name);
    if (!rec) return;
    rec.status = rec.storedMs === undefined ? 'never' : 'stale';
    rec.lastError = error;
    rec.attemptedAt = at.toISOString();
    this.append(name, {
      at: rec.attemptedAt,
      ok: false,
      computedMs: null,
      storedMs: rec.storedMs ?? null,
      servedMs: rec.last?.servedMs ?? null,
      strategy: rec.last?.strategy ?? null,
      samples: null,
      percentilesMs: null,
      error,
    });
  }
}

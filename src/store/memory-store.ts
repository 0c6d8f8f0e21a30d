// In-memory TimeoutStore: the table of endpoints, their stored values and statuses.
import type { ComputationInfo, EndpointEntry, EndpointRecord, TimeoutStore } from './types.ts';

export class MemoryStore implements TimeoutStore {
  private readonly records = new Map<string, EndpointRecord>();
  private anyValue = false;

  get(name: string): EndpointRecord | undefined {
    return this.records.get(name);
  }

  list(): EndpointRecord[] {
    return [...this.records.values()];
  }

  syncEndpoints(entries: readonly EndpointEntry[]): void {
    const wanted = new Set(entries.map((e) => e.name));
    for (const name of this.records.keys()) if (!wanted.has(name)) this.records.delete(name);
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
  }

  recordFailure(name: string, error: string, at: Date): void {
    const rec = this.records.get(name);
    if (!rec) return;
    rec.status = rec.storedMs === undefined ? 'never' : 'stale';
    rec.lastError = error;
    rec.attemptedAt = at.toISOString();
  }
}

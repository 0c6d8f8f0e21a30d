// In-memory SpanWindows: per endpoint a sorted ring buffer of 8 bytes per kept span (float32 duration + uint32 start offset).
import { InvalidWindowEntryError } from '../core/errors.ts';
import type { SpanWindows, WindowEntry, WindowRead } from './span-window-types.ts';

/** Largest start offset a window holds (uint32), ms: ~49.7 days. */
const MAX_OFFSET_MS = 0xffff_ffff;
/** Largest finite float32: a longer duration would be stored as Infinity. */
const MAX_FLOAT32 = 3.4028234663852886e38;
/** First capacity of a new window; doubled up to `limit` so that rarely seen endpoints stay small. */
const INITIAL_CAPACITY = 16;

export interface MemorySpanWindowsOptions {
  /** Entries kept per endpoint (the most recent by start time). Default 5000 (the InfluxDB source's). */
  limit?: number;
  /** Entries that started longer ago than this are dropped, ms. Default 48 h (the InfluxDB source's). */
  maxAgeMs?: number;
  /**
   * Entries that start further than this in the future are dropped (a wrong exporter clock would
   * otherwise push a whole window out), ms. Default 1 h.
   */
  maxFutureMs?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Accepted entries of one endpoint, start times rounded to whole ms. */
export interface EndpointBatch {
  startsMs: number[];
  /** Duration in ms, negated when the span failed (the sign bit is the failed flag). */
  signedMs: number[];
}

/**
 * One endpoint's window: a ring buffer sorted by start, oldest at `head`. Durations are float32
 * with the failed flag in the sign bit (durations are > 0); starts are uint32 ms after `baseMs`.
 */
class Ring {
  dur: Float32Array;
  off: Uint32Array;
  head = 0;
  count = 0;
  constructor(
    public baseMs: number,
    capacity: number,
  ) {
    this.dur = new Float32Array(capacity);
    this.off = new Uint32Array(capacity);
  }
  get capacity(): number {
    return this.dur.length;
  }
  /** Physical index of the i-th oldest entry. */
  at(i: number): number {
    const p = this.head + i;
    return p >= this.capacity ? p - this.capacity : p;
  }
  offAt(i: number): number {
    return this.off[this.at(i)] as number;
  }
  /** Copies the entries oldest first into new arrays of `capacity` (head back at 0). */
  resize(capacity: number): void {
    const dur = new Float32Array(capacity);
    const off = new Uint32Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      dur[i] = this.dur[p] as number;
      off[i] = this.off[p] as number;
    }
    this.dur = dur;
    this.off = off;
    this.head = 0;
  }
  /** Index of the first entry whose offset is >= `off` (binary search: the ring is sorted). */
  lowerBound(off: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offAt(mid) < off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** Index of the first entry whose offset is > `off`. */
  upperBound(off: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offAt(mid) <= off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** Drops the `n` oldest entries. */
  dropOldest(n: number): void {
    this.head = this.at(n);
    this.count -= n;
    if (this.count === 0) this.head = 0;
  }
}

/**
 * Bounded windows in memory. Out-of-order arrivals: an entry newer than an endpoint's newest is
 * appended at the tail (the common case, O(1)); an older one is inserted in place, shifting the
 * entries after it (cheap when it is only a little late, as batching and several exporters make
 * it); one older than everything in a full window is dropped, as it is not among the most recent.
 */
export class MemorySpanWindows implements SpanWindows {
  protected readonly limit: number;
  protected readonly maxAgeMs: number;
  protected readonly maxFutureMs: number;
  protected readonly now: () => number;
  protected readonly rings = new Map<string, Ring>();

  constructor(opts: MemorySpanWindowsOptions = {}) {
    this.limit = opts.limit ?? 5000;
    this.maxAgeMs = opts.maxAgeMs ?? 48 * 3_600_000;
    this.maxFutureMs = opts.maxFutureMs ?? 3_600_000;
    this.now = opts.now ?? Date.now;
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new RangeError('limit must be >= 1');
    // Every accepted start lies in [now - maxAge, now + maxFuture]: that span must fit a uint32.
    if (!(this.maxAgeMs > 0) || !(this.maxFutureMs >= 0))
      throw new RangeError('maxAgeMs must be > 0 and maxFutureMs >= 0');
    if (this.maxAgeMs + this.maxFutureMs >= MAX_OFFSET_MS)
      throw new RangeError('maxAgeMs + maxFutureMs must be under 2^32 ms (~49.7 days)');
  }

  append(entries: readonly WindowEntry[]): Promise<void> {
    try {
      this.insert(this.accept(entries));
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Checks every entry (throws `InvalidWindowEntryError` before anything is kept), drops those
   * outside [now - maxAge, now + maxFuture], and groups the rest by endpoint.
   */
  protected accept(entries: readonly WindowEntry[]): Map<string, EndpointBatch> {
    for (const e of entries) {
      if (typeof e.endpoint !== 'string' || e.endpoint === '')
        throw new InvalidWindowEntryError('endpoint must be a non-empty string');
      if (!Number.isFinite(e.startMs))
        throw new InvalidWindowEntryError(`startMs must be finite (got ${e.startMs})`);
      if (!(e.durationMs > 0 && e.durationMs <= MAX_FLOAT32))
        throw new InvalidWindowEntryError(
          `durationMs must be > 0 and finite (got ${e.durationMs})`,
        );
    }
    const now = this.now();
    const oldest = now - this.maxAgeMs;
    const newest = now + this.maxFutureMs;
    const groups = new Map<string, EndpointBatch>();
    for (const e of entries) {
      const start = Math.round(e.startMs);
      if (start < oldest || start > newest) continue;
      let g = groups.get(e.endpoint);
      if (!g) groups.set(e.endpoint, (g = { startsMs: [], signedMs: [] }));
      g.startsMs.push(start);
      g.signedMs.push(e.failed ? -e.durationMs : e.durationMs);
    }
    return groups;
  }

  protected insert(groups: Map<string, EndpointBatch>): void {
    for (const [endpoint, g] of groups) {
      for (let i = 0; i < g.startsMs.length; i++)
        this.insertOne(endpoint, g.startsMs[i] as number, g.signedMs[i] as number);
    }
  }

  /** Adds one entry (start rounded to ms, duration signed by the failed flag). */
  protected insertOne(endpoint: string, startMs: number, signedMs: number): void {
    let r = this.rings.get(endpoint);
    if (!r) {
      // The base leaves room for every start a window accepts, now - maxAge onwards.
      const base = Math.min(startMs, Math.floor(this.now() - this.maxAgeMs));
      r = new Ring(base, Math.min(this.limit, INITIAL_CAPACITY));
      this.rings.set(endpoint, r);
    }
    let off = startMs - r.baseMs;
    if (off > MAX_OFFSET_MS) {
      this.rebase(r);
      off = startMs - r.baseMs;
    }
    // Past the base (a clock that went back), or still out of range: not representable.
    if (off < 0 || off > MAX_OFFSET_MS) return;
    if (r.count === this.limit) {
      // Full: an entry no newer than the oldest kept is not among the most recent.
      if (off <= r.offAt(0)) return;
      r.dropOldest(1);
    } else if (r.count === r.capacity) {
      r.resize(Math.min(this.limit, r.capacity * 2));
    }
    if (r.count === 0 || off >= r.offAt(r.count - 1)) {
      const p = r.at(r.count);
      r.dur[p] = signedMs;
      r.off[p] = off;
      r.count++;
      return;
    }
    // Late arrival: after the entries with the same start (stable), shifting the newer ones.
    const pos = r.upperBound(off);
    for (let i = r.count; i > pos; i--) {
      const to = r.at(i);
      const from = r.at(i - 1);
      r.dur[to] = r.dur[from] as number;
      r.off[to] = r.off[from] as number;
    }
    const p = r.at(pos);
    r.dur[p] = signedMs;
    r.off[p] = off;
    r.count++;
  }

  /** Moves a window's base to now - maxAge, dropping the entries before it (past the age bound). */
  private rebase(r: Ring): void {
    const base = Math.floor(this.now() - this.maxAgeMs);
    const shift = base - r.baseMs;
    if (shift <= 0) return;
    r.dropOldest(r.lowerBound(shift));
    for (let i = 0; i < r.count; i++) {
      const p = r.at(i);
      r.off[p] = (r.off[p] as number) - shift;
    }
    r.baseMs = base;
  }

  read(endpoint: string, opts: { limit: number; sinceMs: number }): WindowRead {
    const r = this.rings.get(endpoint);
    if (!r || r.count === 0 || !(opts.limit > 0))
      return { durationsMs: [], timestampsMs: [], failed: [] };
    const since = Math.max(opts.sinceMs, this.now() - this.maxAgeMs);
    // Starts are whole ms: start >= since ⇔ offset >= ceil(since - base).
    const from = Math.max(
      r.lowerBound(Math.ceil(since - r.baseMs)),
      r.count - Math.floor(opts.limit),
    );
    const n = r.count - from;
    const durationsMs = new Array<number>(n);
    const timestampsMs = new Array<number>(n);
    const failed = new Array<boolean>(n);
    for (let i = 0; i < n; i++) {
      const p = r.at(from + i);
      const d = r.dur[p] as number;
      durationsMs[i] = d < 0 ? -d : d;
      failed[i] = d < 0;
      timestampsMs[i] = r.baseMs + (r.off[p] as number);
    }
    return { durationsMs, timestampsMs, failed };
  }

  endpoints(): string[] {
    const cutoff = this.now() - this.maxAgeMs;
    const out: string[] = [];
    for (const [name, r] of this.rings) {
      if (r.count > 0 && r.baseMs + r.offAt(r.count - 1) >= cutoff) out.push(name);
    }
    return out;
  }

  remove(endpoint: string): Promise<boolean> {
    return Promise.resolve(this.drop(endpoint));
  }

  /** Forgets an endpoint in memory; answers whether it had entries. */
  protected drop(endpoint: string): boolean {
    const r = this.rings.get(endpoint);
    this.rings.delete(endpoint);
    return r !== undefined && r.count > 0;
  }

  /**
   * Drops entries past the age bound, frees windows left empty and trims spare capacity; answers
   * the number of entries dropped. Reads already leave such entries out: this only frees memory.
   */
  prune(): number {
    const cutoff = this.now() - this.maxAgeMs;
    let dropped = 0;
    for (const [name, r] of this.rings) {
      const n = r.lowerBound(Math.ceil(cutoff - r.baseMs));
      r.dropOldest(n);
      dropped += n;
      if (r.count === 0) this.rings.delete(name);
    }
    return dropped;
  }

  /** Entries kept and bytes held by the typed arrays (the window data, not the Map's overhead). */
  stats(): { endpoints: number; entries: number; arrayBytes: number } {
    let entries = 0;
    let arrayBytes = 0;
    for (const r of this.rings.values()) {
      entries += r.count;
      arrayBytes += r.dur.byteLength + r.off.byteLength;
    }
    return { endpoints: this.rings.size, entries, arrayBytes };
  }

  /**
   * An endpoint's window packed as stored on disk: `count` float32 signed durations, then
   * `count` uint32 start offsets from `baseMs`, little-endian, oldest first.
   */
  protected pack(endpoint: string): { baseMs: number; data: Buffer } | undefined {
    const r = this.rings.get(endpoint);
    if (!r || r.count === 0) return undefined;
    const n = r.count;
    const buf = new ArrayBuffer(n * 8);
    const dur = new Float32Array(buf, 0, n);
    const off = new Uint32Array(buf, n * 4, n);
    const first = r.at(0);
    const tail = Math.min(n, r.capacity - first);
    dur.set(r.dur.subarray(first, first + tail));
    off.set(r.off.subarray(first, first + tail));
    if (tail < n) {
      dur.set(r.dur.subarray(0, n - tail), tail);
      off.set(r.off.subarray(0, n - tail), tail);
    }
    return { baseMs: r.baseMs, data: Buffer.from(buf) };
  }

  /** Adds packed entries (the format of `pack`), any order, bounded as appends are. */
  protected insertPacked(endpoint: string, baseMs: number, data: Uint8Array): void {
    const n = data.byteLength >>> 3;
    // Copied into aligned arrays: a blob from SQLite need not start at a multiple of 4.
    const bytes = new Uint8Array(n * 8);
    bytes.set(data.subarray(0, n * 8));
    const dur = new Float32Array(bytes.buffer, 0, n);
    const off = new Uint32Array(bytes.buffer, n * 4, n);
    const now = this.now();
    const oldest = now - this.maxAgeMs;
    const newest = now + this.maxFutureMs;
    for (let i = 0; i < n; i++) {
      const start = baseMs + (off[i] as number);
      if (start < oldest || start > newest) continue;
      this.insertOne(endpoint, start, dur[i] as number);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

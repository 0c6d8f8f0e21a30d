// The SpanWindows seam: per-endpoint bounded windows of span durations that the OTLP receiver fills.

/** One span as a window keeps it. */
export interface WindowEntry {
  endpoint: string;
  /** Span start, epoch ms. Kept rounded to the ms. */
  startMs: number;
  /** Span duration, ms (> 0, finite). Kept as a float32: ~7 significant digits (relative error ≤ 6e-8). */
  durationMs: number;
  /** The span's status was ERROR (a failed call, not only a slow one). */
  failed: boolean;
}

/** An endpoint's window as read: oldest first, same length arrays. */
export interface WindowRead {
  durationsMs: number[];
  /** Start time (epoch ms) of each span. */
  timestampsMs: number[];
  /** Whether each span's status was ERROR. */
  failed: boolean[];
}

export interface SpanWindows {
  /**
   * Adds the entries (any endpoints, any order of arrival); answers once they are durable, so an
   * acknowledged export is never lost. Each endpoint keeps at most its `limit` most recent entries
   * (by start time) and none older than `maxAgeMs`. Rejects with `InvalidWindowEntryError`, keeping
   * nothing of the batch, when an entry has no endpoint or a non-finite start or duration.
   * Entries already past `maxAgeMs`, or starting too far in the future (a wrong clock), are not kept.
   */
  append(entries: readonly WindowEntry[]): Promise<void>;
  /** The endpoint's most recent entries (at most `limit`) that started at or after `sinceMs`. */
  read(endpoint: string, opts: { limit: number; sinceMs: number }): WindowRead;
  /** Endpoints with at least one entry. */
  endpoints(): string[];
  /** Drops an endpoint's window; answers whether it had one. */
  remove(endpoint: string): Promise<boolean>;
  close(): Promise<void>;
}

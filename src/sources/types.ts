// The LatencySource seam: where a worker reads an endpoint's recent span durations.

export interface FetchOptions {
  /** How far back to look. Default 48 (h). */
  windowHours: number;
  /** Keep at most this many of the most recent durations. Default 5000. */
  limit: number;
}

/**
 * Latency as bucket counts (a Prometheus histogram) instead of individual durations. JSON-safe:
 * the +Inf bucket has no bound in `boundsMs`, only a count.
 */
export interface LatencyHistogram {
  /** Finite bucket upper bounds in ms, strictly ascending (a value v is in the first bucket with v ≤ bound). */
  boundsMs: number[];
  /**
   * Observations per bucket (not cumulative), one per bound plus the last for the +Inf bucket
   * (above the highest finite bound): `counts.length === boundsMs.length + 1`. Counts from
   * Prometheus's increase() are extrapolated, so they need not be integers; all are ≥ 0.
   */
  counts: number[];
  /** Sum of the observations in ms (the histogram's `_sum`), when the source has it. */
  sumMs?: number;
}

/** One endpoint's window: durations in ms, oldest first, with their start times where known. */
export interface LatencyWindow {
  /** Empty when the source answers a `histogram` instead. */
  durationsMs: number[];
  /** Start time (epoch ms) of each span, same order; undefined when the source has none. */
  timestampsMs: number[] | undefined;
  /** Whether each span failed (status ERROR), same order; absent when the source cannot tell. */
  failed?: boolean[];
  /**
   * The window as bucket counts, from sources that keep no individual durations (prometheus);
   * then `durationsMs` is empty. Absent otherwise.
   */
  histogram?: LatencyHistogram;
}

/** What `jit source check` reports of a source: the queries it runs, what it finds, what is wrong. */
export interface SourceInspection {
  /** The exact queries the source runs for the endpoints inspected. */
  queries: string[];
  /** Samples found per endpoint in the window. */
  samples: { endpoint: string; count: number }[];
  /** What is missing or wrong, one sentence each; empty when the source looks fine. */
  problems: string[];
}

export interface LatencySource {
  /** Registered name, e.g. "influxdb". */
  readonly name: string;
  /** The endpoint's spans in the window, oldest first, at most `limit` (the most recent ones). */
  fetchWindow(endpoint: string, options: FetchOptions): Promise<LatencyWindow>;
  /** True when `fetchWindow` answers histograms (bucket counts) instead of durations. Default false. */
  readonly histograms?: boolean;
  /** Cheap reachability check for /readyz; throws when the source cannot answer. */
  check(): Promise<void>;
  /** Queries, samples per endpoint and problems, for `jit source check`. */
  inspect?(endpoints: readonly string[], options: FetchOptions): Promise<SourceInspection>;
  /** Endpoint names present in the data, built exactly as `fetchWindow` expects them. */
  discover?(options: FetchOptions): Promise<string[]>;
  close?(): Promise<void>;
}

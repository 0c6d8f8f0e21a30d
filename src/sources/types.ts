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

/** What `jit source check` shows of a source: the queries, the samples found, what is wrong. */
export interface SourceInspection {
  /** The exact queries the source runs for the endpoints (one per endpoint, or per read). */
  queries: string[];
  /** Samples found in the window per endpoint. */
  samples: { endpoint: string; count: number }[];
  /** What is wrong, each naming what is missing (database, measurement, field, tag, …); empty: fine. */
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
  /**
   * Looks at the source for `jit source check`: the queries it would run for `endpoints` (the
   * endpoints it discovers when empty), the samples each finds, and what is missing when
   * something is. Throws only when the source cannot be asked at all.
   */
  inspect?(endpoints: readonly string[], options: FetchOptions): Promise<SourceInspection>;
  /**
   * The endpoint names present in the window's data, written as `fetchWindow` takes them
   * (worker `--discover` reports them to the broker, which admits them like OTLP discovery).
   */
  discover?(options: FetchOptions): Promise<string[]>;
  close?(): Promise<void>;
}

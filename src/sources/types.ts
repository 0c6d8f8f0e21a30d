// The LatencySource seam: where a worker reads an endpoint's recent span durations.

export interface FetchOptions {
  /** How far back to look. Default 48 (h). */
  windowHours: number;
  /** Keep at most this many of the most recent durations. Default 5000. */
  limit: number;
}

/** One endpoint's window: durations in ms, oldest first, with their start times where known. */
export interface LatencyWindow {
  durationsMs: number[];
  /** Start time (epoch ms) of each span, same order; undefined when the source has none. */
  timestampsMs: number[] | undefined;
  /** Whether each span failed (status ERROR), same order; absent when the source cannot tell. */
  failed?: boolean[];
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

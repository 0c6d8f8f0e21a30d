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

export interface LatencySource {
  /** Registered name, e.g. "influxdb". */
  readonly name: string;
  /** The endpoint's spans in the window, oldest first, at most `limit` (the most recent ones). */
  fetchWindow(endpoint: string, options: FetchOptions): Promise<LatencyWindow>;
  /** Cheap reachability check for /readyz; throws when the source cannot answer. */
  check(): Promise<void>;
  close?(): Promise<void>;
}

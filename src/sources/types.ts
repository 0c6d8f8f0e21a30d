// The LatencySource seam: where a worker reads an endpoint's recent span durations.

export interface FetchOptions {
  /** How far back to look. Default 48 (h). */
  windowHours: number;
  /** Keep at most this many of the most recent durations. Default 5000. */
  limit: number;
}

export interface LatencySource {
  /** Registered name, e.g. "influxdb". */
  readonly name: string;
  /** Durations in ms of the endpoint's spans in the window, oldest first, at most `limit`. */
  fetchDurations(endpoint: string, options: FetchOptions): Promise<number[]>;
  /** Cheap reachability check for /readyz; throws when the source cannot answer. */
  check(): Promise<void>;
  close?(): Promise<void>;
}

// The store seam: per-endpoint state the broker keeps and serves (memory now, SQLite later).
import type { EndpointView, HistoryPoint as HistoryPointMessage } from '../protocol/broker-api.ts';
import type { FailureKind } from '../protocol/failure.ts';

/** fresh: last computation succeeded; stale: it failed, the old value is kept; never: no value yet. */
export type EndpointStatus = EndpointView['status'];

/** Details of the last successful computation, as the worker reported them (ms). */
export interface ComputationInfo {
  /** Value the worker computed, before damping. */
  computedMs: number;
  strategy: string;
  method: string;
  samples: number;
  meanMs: number;
  sdMs: number;
  percentilesMs: Record<string, number>;
  computeMs: number;
  workerId: string;
  /** Durations the worker recognised as cut by the previous timeout. */
  censored: number;
  /** Strategy state to send back with the next job (e.g. the calibrated level). */
  state: Record<string, unknown> | undefined;
  /** The timeout served from this computation on (after damping, margin and clamps), ms. */
  servedMs: number;
  /** The value was a no-data placeholder: the next one is not damped against it. Default false. */
  placeholder?: boolean | undefined;
  /**
   * Why the served value is what it is, in words: the strategy's part and what the serving rules
   * did (`servingReason`, core/serving.ts). Absent in values stored before reasons were kept.
   */
  reason?: string | undefined;
}

/** Per-endpoint settings from the endpoint list; each overrides the broker's global one. */
export interface EndpointOptions {
  /** Target false-timeout rate. */
  alpha?: number | undefined;
  /** Strategy name. */
  strategy?: string | undefined;
  /** Lower clamp on the served value (ms). */
  minMs?: number | undefined;
  /** Upper clamp on the served value (ms). */
  maxMs?: number | undefined;
}

export interface EndpointEntry {
  name: string;
  options: EndpointOptions;
}

/**
 * Where an endpoint comes from: the endpoint list file, the admin API (kept until deleted),
 * spans the OTLP receiver saw (`otlp`, kept while its window has spans), or a worker's source
 * (`discovered`, kept while workers with --discover report it). The file and the API take a
 * discovered endpoint over when they name it.
 */
export type EndpointOrigin = 'file' | 'api' | 'otlp' | 'discovered';

export interface EndpointRecord {
  name: string;
  options: EndpointOptions;
  origin: EndpointOrigin;
  /** Value after spike damping; undefined until the first successful computation. */
  storedMs: number | undefined;
  status: EndpointStatus;
  /** ISO time of the last successful computation. */
  computedAt: string | undefined;
  last: ComputationInfo | undefined;
  /** Why the last attempt failed, when status is stale (or never after a failure). */
  lastError: string | undefined;
  /** ISO time of the last attempt, successful or not. */
  attemptedAt: string | undefined;
}

/**
 * One computation of one endpoint, kept for charts and audits (bounded by retention); the shape
 * `GET /v1/endpoints/:endpoint/history` answers, declared in the protocol.
 */
export type HistoryPoint = HistoryPointMessage;

export interface HistoryQuery {
  /** Only points at or after this time (epoch ms). */
  sinceMs?: number;
  /** At most this many of the most recent points. Default 1000. */
  limit?: number;
}

export interface TimeoutStore {
  /**
   * The endpoint's history, oldest first. A store that keeps only the most recent points in
   * memory (PostgreSQL) answers those here, and all of them from `readHistory`.
   */
  history(name: string, query?: HistoryQuery): HistoryPoint[];
  /**
   * The endpoint's history as `history` answers it with every point the store holds, for stores
   * whose history is not all in memory (PostgreSQL). Absent: `history` answers all of it.
   */
  readHistory?(name: string, query?: HistoryQuery): Promise<HistoryPoint[]>;
  /**
   * The endpoint's record. Records are never changed once handed out: every change stores a new
   * record object, so a reader may keep one (and whatever it derived from it, as the broker's
   * cached JSON views do) for as long as it is the current one.
   */
  get(name: string): EndpointRecord | undefined;
  list(): EndpointRecord[];
  /**
   * Makes the file-listed endpoints exactly these: new ones start as `never`, file endpoints no
   * longer listed are dropped. Endpoints added through the API are left alone; a discovered
   * (`otlp`) endpoint the file lists becomes a file endpoint, with the file's settings.
   */
  syncEndpoints(entries: readonly EndpointEntry[]): void;
  /**
   * Adds the names not yet known as discovered endpoints (origin `origin`, default `otlp`; no
   * options, status `never`), in one transaction; known names are left as they are. Answers the
   * names added. The caller bounds how many (`maxEndpoints`).
   */
  addDiscovered(names: readonly string[], origin?: 'otlp' | 'discovered'): string[];
  /** Adds or updates an endpoint through the admin API; it stays until removed through the API. */
  upsertEndpoint(entry: EndpointEntry): EndpointRecord;
  /** Removes an endpoint (any origin); answers whether it existed. */
  removeEndpoint(name: string): boolean;
  /** Number of endpoints. */
  readonly size: number;
  /** Releases files and handles. */
  close(): void;
  /** Whether any endpoint has ever been computed successfully. */
  hasAnyValue(): boolean;
  recordSuccess(name: string, storedMs: number, info: ComputationInfo, at: Date): void;
  /**
   * `kind` is why it failed, as data (src/protocol/failure.ts): the broker's metrics count by it;
   * stores may ignore it (the message is what they keep and show).
   */
  recordFailure(name: string, error: string, at: Date, kind?: FailureKind): void;
}

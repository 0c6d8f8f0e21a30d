// What the broker serves for an endpoint: the SPEC §2 rules for default, unknown and known names.
import { UnknownEndpointError } from '../core/errors.ts';
import {
  defaultReason,
  readableMs,
  servedTimeout,
  staleReason,
  type ServingOptions,
} from '../core/serving.ts';
import type { EndpointView } from '../protocol/broker-api.ts';
import type { EndpointRecord, TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';

/** Content types of the broker's text and JSON answers (the hot reads send the routes' bytes). */
export const TEXT_TYPE = 'text/plain; charset=utf-8';
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The served timeout (ms) for `name`:
 * nothing computed anywhere yet → the default; unknown name → 422 "Endpoint Invalid";
 * known but never computed → the default; otherwise the stored value with the margin, clamped.
 */
export function servedFor(
  store: TimeoutStore,
  config: Readonly<BrokerConfig>,
  name: string,
): number {
  if (!store.hasAnyValue()) return config.defaultTimeoutMs;
  const rec = store.get(name);
  if (!rec) throw new UnknownEndpointError(name);
  return servedForRecord(rec, config);
}

export function servedForRecord(rec: EndpointRecord, config: Readonly<BrokerConfig>): number {
  return rec.storedMs === undefined
    ? config.defaultTimeoutMs
    : servedTimeout(rec.storedMs, servingFor(rec, config));
}

/**
 * The hedge delay (ms) served beside the timeout (issue 19): the p95 of the window of the last
 * successful computation. "The Tail at Scale" (Dean & Barroso) sends a backup request once the
 * first has been outstanding longer than the 95th percentile, which adds about 5 % load. At most
 * the served timeout: a backup sent after the deadline could never win. null while nothing was
 * computed, for a no-data placeholder (p95 0), and when the worker reported no p95 (a worker from
 * before issue 19, or a legacy one): the SDK then does not hedge unless told a delay. Derived from
 * the stored percentiles, so no store changes and the cached view stays a function of the record.
 */
export function hedgeForRecord(rec: EndpointRecord, config: Readonly<BrokerConfig>): number | null {
  if (rec.storedMs === undefined || rec.last === undefined) return null;
  const p95 = rec.last.percentilesMs['p95'];
  if (typeof p95 !== 'number' || !Number.isFinite(p95) || p95 <= 0) return null;
  // Whole ms, as the timeout: rounded up so that the backup still waits for the p95.
  return Math.min(Math.ceil(p95), servedForRecord(rec, config));
}

/** The broker's serving rules with the endpoint's own clamps, where it has them. */
export function servingFor(rec: EndpointRecord, config: Readonly<BrokerConfig>): ServingOptions {
  return {
    spikeFactor: config.spikeFactor,
    spikeReplaceFactor: config.spikeReplaceFactor,
    marginThresholdMs: config.marginThresholdMs,
    marginFactor: config.marginFactor,
    marginAddMs: config.marginAddMs,
    defaultTimeoutMs: config.defaultTimeoutMs,
    minMs: rec.options.minMs ?? config.minMs,
    maxMs: rec.options.maxMs ?? config.maxMs,
  };
}

/** The JSON view of one endpoint (`/v1/endpoints`, `/v1/timeouts/:endpoint`). */
export function endpointView(rec: EndpointRecord, config: Readonly<BrokerConfig>): EndpointView {
  return {
    endpoint: rec.name,
    timeoutMs: servedForRecord(rec, config),
    hedgeMs: hedgeForRecord(rec, config),
    storedMs: rec.storedMs ?? null,
    status: rec.status,
    strategy: rec.last?.strategy ?? null,
    alpha: rec.options.alpha ?? config.alpha,
    options: rec.options,
    method: rec.last?.method ?? null,
    samples: rec.last?.samples ?? null,
    meanMs: rec.last?.meanMs ?? null,
    sdMs: rec.last?.sdMs ?? null,
    percentilesMs: rec.last?.percentilesMs ?? null,
    censored: rec.last?.censored ?? null,
    state: rec.last?.state ?? null,
    computedAt: rec.computedAt ?? null,
    attemptedAt: rec.attemptedAt ?? null,
    lastError: rec.lastError ?? null,
    reason: reasonOf(rec, config),
  };
}

/** The endpoint view's `reason`: the stored one, marked stale after a failure; the default's before any value. */
export function reasonOf(rec: EndpointRecord, config: Readonly<BrokerConfig>): string {
  if (rec.storedMs === undefined) return defaultReason(config.defaultTimeoutMs);
  const reason = rec.last?.reason;
  if (rec.status === 'stale') return staleReason(reason);
  // A value stored before reasons were kept: say what is known.
  return reason ?? `stored ${readableMs(rec.storedMs)} before reasons were kept`;
}

/** View texts `endpointViewCache` keeps by default: the endpoints callers read most. */
export const VIEW_TEXTS_CACHED = 10_000;

/**
 * `endpointView` as JSON text, made once per record: records are never changed in place (every
 * change stores a new record object, see `TimeoutStore`) and the config is frozen, so the text
 * of a record never goes stale. Callers read timeouts on their hot path; building and
 * serialising the 18-field view on every request cost about 3 µs, 8 % of a request
 * (BENCHMARKS.md, "Serving"). At most `maxTexts` (default 10 000) texts are kept, the most
 * recently built ones: a text costs ~1.1 KB, and all of 100 000 endpoints' (one
 * `GET /v1/endpoints`) would be ~110 MB for as long as their records last (BENCHMARKS.md,
 * "PostgreSQL store"). `cached()` answers how many are kept.
 */
export function endpointViewCache(
  config: Readonly<BrokerConfig>,
  maxTexts = VIEW_TEXTS_CACHED,
): ((rec: EndpointRecord) => string) & { cached(): number } {
  // By name, with the record it was made from: a changed endpoint's new record misses, and its
  // text replaces the old one. Map order is build order: the oldest built goes first.
  const texts = new Map<string, { rec: EndpointRecord; text: string }>();
  const viewJson = (rec: EndpointRecord): string => {
    const kept = texts.get(rec.name);
    if (kept?.rec === rec) return kept.text;
    const text = JSON.stringify(endpointView(rec, config));
    if (kept) texts.delete(rec.name);
    else if (texts.size >= maxTexts) {
      const oldest = texts.keys().next();
      if (!oldest.done) texts.delete(oldest.value);
    }
    if (maxTexts > 0) texts.set(rec.name, { rec, text });
    return text;
  };
  return Object.assign(viewJson, { cached: () => texts.size });
}

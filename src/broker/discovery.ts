// Discovery: endpoints named by OTLP spans or found in a worker's source join the endpoint list on their own, bounded and filtered.
import type { FastifyBaseLogger } from 'fastify';
import { endpointNameProblem } from '../core/endpoint-name.ts';
import type { DiscoveredReply } from '../protocol/broker-api.ts';
import type { SpanWindows } from '../store/span-window-types.ts';
import type { EndpointOrigin, TimeoutStore } from '../store/types.ts';
import { NameFilter } from './name-patterns.ts';

/** The origins discovery adds and sweeps: spans the OTLP receiver saw, names workers reported. */
export type DiscoveredOrigin = Extract<EndpointOrigin, 'otlp' | 'discovered'>;

export interface DiscoveryOptions {
  store: TimeoutStore;
  /** The OTLP receiver's windows (sweep of `otlp` endpoints); undefined when it is off. */
  windows?: SpanWindows | undefined;
  /** Most endpoints the store may hold (file, API and discovered together): `--max-endpoints`. */
  maxEndpoints: number;
  /** `--discovery-allow` (and `--otlp-allow`) patterns (empty: every name may be discovered). */
  allow: readonly string[];
  /** `--discovery-deny` (and `--otlp-deny`) patterns. */
  deny: readonly string[];
  /** An `otlp` endpoint without a span this recent is dropped (ms). */
  maxAgeMs: number;
  /** A `discovered` endpoint no worker reported for this long is dropped (ms). Default `maxAgeMs`. */
  reportedMaxAgeMs?: number | undefined;
  log: FastifyBaseLogger;
  now?: () => number;
}

/** What discovery says about the endpoint names of one export or report. */
export interface Admission {
  /** Names whose spans may be kept (known endpoints, and new ones admitted now). */
  admitted: Set<string>;
  /** New names admitted by this export: added to the store once its spans are durable. */
  added: string[];
  /** Names refused, each with why. */
  refused: Map<string, string>;
}

/**
 * Decides which endpoint names an OTLP export or a worker's report may add, and adds them once
 * the export's spans are durable (`settle`), so that a failed export adds nothing. Slots taken by
 * exports still in flight count against the bound, so concurrent exports cannot overshoot it.
 */
export class Discovery {
  private readonly filter: NameFilter;
  /** Names admitted by exports in flight, not yet in the store. */
  private readonly pending = new Map<string, number>();
  /** When a worker last reported each `discovered` endpoint (epoch ms). */
  private readonly lastReported = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: DiscoveryOptions) {
    this.filter = new NameFilter(opts.allow, opts.deny);
    this.now = opts.now ?? Date.now;
  }

  admit(names: Iterable<string>): Admission {
    const { store, maxEndpoints } = this.opts;
    const admission: Admission = { admitted: new Set(), added: [], refused: new Map() };
    for (const name of names) {
      if (admission.admitted.has(name) || admission.refused.has(name)) continue;
      // Endpoints already listed (file, API, discovered) keep their spans whatever the patterns.
      if (store.get(name) !== undefined || this.pending.has(name)) {
        admission.admitted.add(name);
        if (this.pending.has(name)) this.reserve(name, admission);
        continue;
      }
      const refusal = this.filter.refusal(name);
      if (refusal !== undefined) {
        admission.refused.set(name, refusal);
        continue;
      }
      if (store.size + this.pending.size >= maxEndpoints) {
        admission.refused.set(name, `beyond --max-endpoints (${maxEndpoints})`);
        continue;
      }
      admission.admitted.add(name);
      this.reserve(name, admission);
    }
    return admission;
  }

  private reserve(name: string, admission: Admission): void {
    this.pending.set(name, (this.pending.get(name) ?? 0) + 1);
    admission.added.push(name);
  }

  /**
   * The export's spans are durable: its new endpoints join the list with `origin` (or `ok`
   * false: they do not). Answers the names added.
   */
  settle(admission: Admission, ok: boolean, origin: DiscoveredOrigin = 'otlp'): string[] {
    const added = ok ? this.opts.store.addDiscovered(admission.added, origin) : [];
    for (const name of admission.added) {
      const n = (this.pending.get(name) ?? 1) - 1;
      if (n <= 0) this.pending.delete(name);
      else this.pending.set(name, n);
    }
    if (added.length > 0) {
      this.opts.log.info(
        { endpoints: added.slice(0, 20), count: added.length, origin },
        `discovered ${added.length} endpoint${added.length === 1 ? '' : 's'} in ${origin === 'otlp' ? 'spans' : 'a source'}`,
      );
    }
    return added;
  }

  /**
   * A worker's report of the names its source holds (`POST /v1/discovered`): admitted as an
   * OTLP export's names are, added at once with origin `discovered`, and each reported name
   * that is a `discovered` endpoint counts as seen now (the sweep drops those not seen).
   */
  report(source: string, names: readonly string[]): DiscoveredReply {
    const valid: string[] = [];
    const refused: DiscoveredReply['refused'] = [];
    for (const name of new Set(names)) {
      const problem = endpointNameProblem(name);
      if (problem === undefined) valid.push(name);
      else refused.push({ name, reason: `not an endpoint name: ${problem}` });
    }
    const admission = this.admit(valid);
    const added = this.settle(admission, true, 'discovered');
    const now = this.now();
    for (const name of admission.admitted) this.lastReported.set(name, now);
    for (const [name, reason] of admission.refused) refused.push({ name, reason });
    if (refused.length > 0)
      this.opts.log.debug({ source, refused: refused.length }, 'reported names refused');
    return { admitted: admission.admitted.size, added, refused: refused.slice(0, 100) };
  }

  /**
   * Drops discovered endpoints that went away (their service stopped or was renamed), so the
   * list stays the endpoints that are called: an `otlp` one whose window has had no span for
   * the window's age, a `discovered` one no worker reported for as long. Answers their names.
   */
  async sweep(): Promise<string[]> {
    const { store, windows, maxAgeMs } = this.opts;
    const now = this.now();
    const reportedMaxAgeMs = this.opts.reportedMaxAgeMs ?? maxAgeMs;
    const dropped: string[] = [];
    for (const rec of store.list()) {
      if (this.pending.has(rec.name)) continue;
      if (rec.origin === 'otlp') {
        // Without the receiver (turned off since) there are no windows to judge by: kept.
        if (windows === undefined) continue;
        const sinceMs = now - maxAgeMs;
        if (windows.read(rec.name, { limit: 1, sinceMs }).durationsMs.length > 0) continue;
        store.removeEndpoint(rec.name);
        await windows.remove(rec.name);
        dropped.push(rec.name);
      } else if (rec.origin === 'discovered') {
        const seen = this.lastReported.get(rec.name);
        // Not reported since this broker started: its clock starts now.
        if (seen === undefined) this.lastReported.set(rec.name, now);
        if (seen === undefined || now - seen <= reportedMaxAgeMs) continue;
        store.removeEndpoint(rec.name);
        this.lastReported.delete(rec.name);
        dropped.push(rec.name);
      }
    }
    if (dropped.length > 0) {
      this.opts.log.info(
        { endpoints: dropped.slice(0, 20), count: dropped.length },
        `dropped ${dropped.length} discovered endpoint${dropped.length === 1 ? '' : 's'} without spans or reports for ${maxAgeMs / 3_600_000} h`,
      );
    }
    return dropped;
  }
}

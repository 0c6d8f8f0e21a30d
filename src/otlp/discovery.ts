// Discovery: endpoints named by spans join the broker's endpoint list on their own, bounded and filtered.
import type { FastifyBaseLogger } from 'fastify';
import type { SpanWindows } from '../store/span-window-types.ts';
import type { TimeoutStore } from '../store/types.ts';
import { NameFilter } from './patterns.ts';

export interface DiscoveryOptions {
  store: TimeoutStore;
  windows: SpanWindows;
  /** Most endpoints the store may hold (file, API and discovered together): `--max-endpoints`. */
  maxEndpoints: number;
  /** `--otlp-allow` patterns (empty: every name may be discovered). */
  allow: readonly string[];
  /** `--otlp-deny` patterns. */
  deny: readonly string[];
  /** A discovered endpoint without a span this recent is dropped (ms). */
  maxAgeMs: number;
  log: FastifyBaseLogger;
  now?: () => number;
}

/** What discovery says about the endpoint names of one export. */
export interface Admission {
  /** Names whose spans may be kept (known endpoints, and new ones admitted now). */
  admitted: Set<string>;
  /** New names admitted by this export: added to the store once its spans are durable. */
  added: string[];
  /** Names refused, each with why. */
  refused: Map<string, string>;
}

/**
 * Decides which endpoint names an export may add, and adds them once the export's spans are
 * durable (`commit`), so that a failed export adds nothing. Slots taken by exports still in
 * flight count against the bound, so concurrent exports cannot overshoot it.
 */
export class Discovery {
  private readonly filter: NameFilter;
  /** Names admitted by exports in flight, not yet in the store. */
  private readonly pending = new Map<string, number>();
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

  /** The export's spans are durable: its new endpoints join the list (or `ok` false: they do not). */
  settle(admission: Admission, ok: boolean): string[] {
    const added = ok ? this.opts.store.addDiscovered(admission.added) : [];
    for (const name of admission.added) {
      const n = (this.pending.get(name) ?? 1) - 1;
      if (n <= 0) this.pending.delete(name);
      else this.pending.set(name, n);
    }
    if (added.length > 0) {
      this.opts.log.info(
        { endpoints: added.slice(0, 20), count: added.length },
        `discovered ${added.length} endpoint${added.length === 1 ? '' : 's'} in spans`,
      );
    }
    return added;
  }

  /**
   * Drops discovered endpoints whose window has had no span for the window's age (their service
   * went away or was renamed): the list stays the endpoints that are called. Answers their names.
   */
  async sweep(): Promise<string[]> {
    const { store, windows, maxAgeMs } = this.opts;
    const sinceMs = this.now() - maxAgeMs;
    const dropped: string[] = [];
    for (const rec of store.list()) {
      if (rec.origin !== 'otlp' || this.pending.has(rec.name)) continue;
      if (windows.read(rec.name, { limit: 1, sinceMs }).durationsMs.length > 0) continue;
      store.removeEndpoint(rec.name);
      await windows.remove(rec.name);
      dropped.push(rec.name);
    }
    if (dropped.length > 0) {
      this.opts.log.info(
        { endpoints: dropped.slice(0, 20), count: dropped.length },
        `dropped ${dropped.length} discovered endpoint${dropped.length === 1 ? '' : 's'} without spans for ${maxAgeMs / 3_600_000} h`,
      );
    }
    return dropped;
  }
}

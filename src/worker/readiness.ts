// Whether a worker's latency source can answer: checked at start and until it can, logged once per change.
import { JitError } from '../core/errors.ts';
import type { LatencySource } from '../sources/types.ts';

/** Pause between checks while the source is not ready. Default 2000 (ms). */
export const READINESS_RETRY_MS = 2000;

export interface ReadinessState {
  /** True once the last check passed. */
  ready: boolean;
  /** Why not (the last check's error), undefined when ready. */
  reason: string | undefined;
}

export interface ReadinessOptions {
  source: LatencySource;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
  /** Pause between checks while not ready. Default `READINESS_RETRY_MS` (ms). */
  retryMs?: number | undefined;
}

/**
 * Keeps the source's readiness: `start()` checks at once and then every `retryMs` while the
 * source is not ready; `check()` checks now (readiness probes, a job that hit a source error)
 * and starts the retries again if the source broke. What changes is logged, once: "not ready"
 * with the reason when it first fails or the reason changes (not on every retry), "ready" when
 * it becomes ready. `onceReady` callbacks run the first time it is ready (the worker registers
 * with the broker then, and stays registered if the source breaks later: see docs/decisions.md).
 */
export class SourceReadiness {
  private current: ReadinessState = { ready: false, reason: 'not checked yet' };
  private inFlight: Promise<ReadinessState> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private logged: string | undefined;
  private readonly listeners: (() => void)[] = [];
  private readyOnce = false;

  constructor(private readonly opts: ReadinessOptions) {}

  get state(): ReadinessState {
    return this.current;
  }

  /** Runs `fn` once, the first time the source is ready (at once if it has been already). */
  onceReady(fn: () => void): void {
    if (this.readyOnce) fn();
    else this.listeners.push(fn);
  }

  /** Checks now, then every `retryMs` while not ready, until `stop()`. */
  start(): void {
    this.running = true;
    void this.check();
  }

  /** Stops the checks; `onceReady` callbacks not yet run never will. */
  stop(): void {
    this.running = false;
    this.listeners.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One check (joins the one in flight); answers the state after it. */
  check(): Promise<ReadinessState> {
    this.inFlight ??= this.runCheck().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async runCheck(): Promise<ReadinessState> {
    let reason: string | undefined;
    try {
      await this.opts.source.check();
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
      const code = err instanceof JitError ? err.code : undefined;
      if (reason !== this.logged) {
        // Once per reason: a source down for an hour must not write a line per retry.
        this.opts.log.warn(
          { source: this.opts.source.name, code, retryMs: this.retryMs },
          `source not ready: ${reason}`,
        );
        this.logged = reason;
      }
    }
    const wasReady = this.current.ready;
    this.current = { ready: reason === undefined, reason };
    if (reason === undefined) {
      if (!wasReady) {
        this.logged = undefined;
        this.opts.log.info({ source: this.opts.source.name }, 'source ready');
        this.readyOnce = true;
        for (const fn of this.listeners.splice(0)) fn();
      }
    } else if (this.running && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.running) void this.check();
      }, this.retryMs);
      this.timer.unref();
    }
    return this.current;
  }

  private get retryMs(): number {
    return this.opts.retryMs ?? READINESS_RETRY_MS;
  }
}

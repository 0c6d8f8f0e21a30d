// Worker `--discover`: asks the source for the endpoints in its data and reports them to the broker.
import type { DiscoveredReply, DiscoveredRequest } from '../protocol/broker-api.ts';
import { MAX_DISCOVERED_NAMES } from '../protocol/broker-api.ts';
import type { FetchOptions, LatencySource } from '../sources/types.ts';

export interface DiscoveryReporterOptions {
  source: LatencySource;
  brokerUrl: string;
  token: string | undefined;
  fetch: FetchOptions;
  intervalMs: number;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
  };
}

/**
 * Discovers now, then every `intervalMs` until `stop()`. A failure (source or broker) is logged
 * once per reason, as readiness is, and retried at the next round; the broker's sweep drops the
 * names no longer reported, so a round missed changes nothing.
 */
export class DiscoveryReporter {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private lastProblem: string | undefined;

  constructor(private readonly opts: DiscoveryReporterOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.round();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** One discovery and report (joins the one in flight); answers the broker's reply, if any. */
  async round(): Promise<DiscoveredReply | undefined> {
    let reply: DiscoveredReply | undefined;
    const run = (async () => {
      try {
        reply = await this.report();
        if (this.lastProblem !== undefined)
          this.opts.log.info({ source: this.opts.source.name }, 'discovery works again');
        this.lastProblem = undefined;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        if (reason !== this.lastProblem)
          this.opts.log.warn({ source: this.opts.source.name }, `discovery failed: ${reason}`);
        this.lastProblem = reason;
      }
    })();
    this.inFlight = run;
    await run;
    if (this.running) {
      this.timer = setTimeout(() => void this.round(), this.opts.intervalMs);
      this.timer.unref();
    }
    return reply;
  }

  private async report(): Promise<DiscoveredReply> {
    const { source, brokerUrl, token, log } = this.opts;
    if (!source.discover) throw new Error(`source ${source.name} cannot discover endpoints`);
    const names = (await source.discover(this.opts.fetch)).slice(0, MAX_DISCOVERED_NAMES);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const body: DiscoveredRequest = { source: source.name, names };
    const res = await fetch(new URL('/v1/discovered', brokerUrl), {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`broker answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    const reply = JSON.parse(text) as DiscoveredReply;
    log.debug({ found: names.length, added: reply.added.length }, 'discovery reported');
    if (reply.added.length > 0)
      log.info(
        { endpoints: reply.added.slice(0, 20), count: reply.added.length },
        `discovered ${reply.added.length} endpoint(s) in the source`,
      );
    return reply;
  }
}

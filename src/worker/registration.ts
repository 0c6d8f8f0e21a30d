// Keeps a worker registered with the broker: register with backoff, heartbeat, re-register, unregister.
import { registerReplySchema, type RegisterRequest } from '../protocol/broker-api.ts';

export interface RegistrationOptions {
  /** Broker base URL, e.g. http://127.0.0.1:5000. */
  brokerUrl: string;
  /** URL the broker reaches this worker at. */
  advertiseUrl: string;
  /** Jobs this worker takes at once. */
  concurrency: number;
  /** Jobs the worker takes in one call (POST /v1/compute/batch). */
  maxBatch: number;
  /** Heartbeat period (ms). */
  heartbeatMs: number;
  /** Bearer token the broker asks of workers, if any. */
  token?: string | undefined;
  /** Longest a job may take here (the strategy's time budget), announced to the broker (ms). */
  maxJobMs?: number | undefined;
  /** First retry delay after a failed registration (ms). Default 250. */
  retryInitialMs?: number;
  /** Longest retry delay (ms). Default 5000. */
  retryMaxMs?: number;
  /** Per-request timeout (ms). Default 5000. */
  requestTimeoutMs?: number;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
}

/** Registration lifecycle of one worker. `start()` resolves once; the loop keeps going in the background. */
export class Registration {
  private id: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  /** The failure last logged: the same one again is not (a broker down for an hour would write a line every 5 s). */
  private lastLogged: string | undefined;

  constructor(private readonly opts: RegistrationOptions) {}

  /** The id the broker gave, when registered. */
  get workerId(): string | undefined {
    return this.id;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.id === undefined) await this.register();
      else await this.heartbeat();
      if (this.lastLogged !== undefined) {
        this.opts.log.info({ broker: this.opts.brokerUrl }, 'broker reachable again');
        this.lastLogged = undefined;
      }
      this.failures = 0;
      this.schedule(this.opts.heartbeatMs);
    } catch (err) {
      this.failures++;
      const base = this.opts.retryInitialMs ?? 250;
      const max = this.opts.retryMaxMs ?? 5000;
      const delay = Math.min(max, base * 2 ** Math.min(this.failures - 1, 16));
      const reason = describe(err);
      if (reason !== this.lastLogged) {
        this.lastLogged = reason;
        this.opts.log.warn(
          {
            err: reason,
            retryInMs: delay,
            broker: this.opts.brokerUrl,
            workerId: this.id,
            url: this.opts.advertiseUrl,
          },
          'broker unreachable; will retry',
        );
      }
      this.schedule(delay * (0.75 + Math.random() * 0.5));
    }
  }

  private async register(): Promise<void> {
    const res = await this.request('POST', '/v1/workers', {
      url: this.opts.advertiseUrl,
      concurrency: this.opts.concurrency,
      maxBatch: this.opts.maxBatch,
      ...(this.opts.maxJobMs === undefined ? {} : { maxJobMs: this.opts.maxJobMs }),
    } satisfies RegisterRequest);
    if (res.status !== 201 && res.status !== 200) {
      throw new Error(`registration refused: HTTP ${res.status} ${await res.text()}`);
    }
    const body = registerReplySchema.parse(await res.json());
    this.id = body.id;
    this.opts.log.info(
      { workerId: this.id, broker: this.opts.brokerUrl, url: this.opts.advertiseUrl },
      'registered with broker',
    );
  }

  private async heartbeat(): Promise<void> {
    const res = await this.request(
      'PUT',
      `/v1/workers/${encodeURIComponent(this.id ?? '')}/heartbeat`,
    );
    if (res.status === 404) {
      // The broker forgot us (restart, lease expiry): register again right away.
      this.opts.log.warn({ workerId: this.id }, 'broker does not know this worker; re-registering');
      this.id = undefined;
      await this.register();
      return;
    }
    if (!res.ok) throw new Error(`heartbeat refused: HTTP ${res.status}`);
    await res.body?.cancel();
  }

  /** Stops the loop and unregisters (best effort, bounded by the request timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.id === undefined) return;
    try {
      const res = await this.request('DELETE', `/v1/workers/${encodeURIComponent(this.id)}`);
      await res.body?.cancel();
      this.opts.log.info({ workerId: this.id }, 'unregistered from broker');
    } catch (err) {
      this.opts.log.warn(
        { err: describe(err), workerId: this.id, broker: this.opts.brokerUrl },
        'could not unregister from broker',
      );
    }
    this.id = undefined;
  }

  private request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.token !== undefined) headers.authorization = `Bearer ${this.opts.token}`;
    return fetch(new URL(path, this.opts.brokerUrl), {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 5000),
    });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ? `${err.message} (${cause.code})` : err.message;
  }
  return String(err);
}

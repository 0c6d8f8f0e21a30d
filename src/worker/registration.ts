// Keeps a worker registered with the broker: register with backoff, heartbeat, re-register, unregister;
// with an original broker (no v1 API), its GET /register renewed every 10 minutes (SPEC §2).
import { connect } from 'node:net';
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
  /**
   * Renewal period of a registration with an original broker (GET /register; the original
   * worker renews every 10 minutes and its broker never expires one). Default 600000 (ms).
   */
  legacyRenewMs?: number;
  /**
   * Called before GET /register with the local address the broker sees us at (the address of a
   * connection to it): the original broker calls `GET /computetimeout` on a fixed port of that
   * address, so the worker must listen there. Answers that URL (for the log line).
   */
  onLegacy?: (localAddress: string) => Promise<string>;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
}

/** Statuses that say the broker does not have our API: the original answers 404 to POST /v1/workers. */
const NOT_OUR_API = new Set([404, 405, 501]);

/** `v1`: POST /v1/workers and heartbeats; `legacy`: the original broker's GET /register. */
export type RegistrationMode = 'v1' | 'legacy';

/** Registration lifecycle of one worker. `start()` resolves once; the loop keeps going in the background. */
export class Registration {
  private id: string | undefined;
  /** How we are registered, once we are. */
  private registeredAs: RegistrationMode | undefined;
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

  /** How this worker is registered: undefined while it is not. */
  get mode(): RegistrationMode | undefined {
    return this.registeredAs;
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
      // Registered with an original broker (no id): register() again is the renewal, and it
      // tries the v1 API first, so a broker replaced by ours is found.
      if (this.id === undefined) await this.register();
      else await this.heartbeat();
      if (this.lastLogged !== undefined) {
        this.opts.log.info({ broker: this.opts.brokerUrl }, 'broker reachable again');
        this.lastLogged = undefined;
      }
      this.failures = 0;
      this.schedule(
        this.registeredAs === 'legacy'
          ? (this.opts.legacyRenewMs ?? LEGACY_RENEW_MS)
          : this.opts.heartbeatMs,
      );
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
    if (NOT_OUR_API.has(res.status)) {
      await res.body?.cancel();
      await this.registerLegacy(res.status);
      return;
    }
    if (res.status !== 201 && res.status !== 200) {
      throw new Error(`registration refused: HTTP ${res.status} ${await res.text()}`);
    }
    const body = registerReplySchema.parse(await res.json());
    if (this.registeredAs === 'legacy') {
      // The original broker was replaced by ours: our registration replaces the legacy one.
      await this.unregisterLegacy();
    }
    this.id = body.id;
    this.registeredAs = 'v1';
    this.opts.log.info(
      { workerId: this.id, broker: this.opts.brokerUrl, url: this.opts.advertiseUrl },
      'registered with broker',
    );
  }

  /**
   * Registers with an original broker (SPEC §2): it adds the caller's address and answers `0`,
   * then calls `GET /computetimeout?url=E` on its fixed port of that address. The first time,
   * says so in one line; renewals are silent.
   */
  private async registerLegacy(v1Status: number): Promise<void> {
    const first = this.registeredAs !== 'legacy';
    const localAddress = await localAddressTowards(
      new URL(this.opts.brokerUrl),
      this.opts.requestTimeoutMs ?? 5000,
    );
    // Listen where the broker will call before telling it we exist (the original worker did not).
    const calledAt = (await this.opts.onLegacy?.(localAddress)) ?? this.opts.advertiseUrl;
    const res = await this.request('GET', '/register');
    const text = (await res.text()).trim();
    if (res.status !== 200) {
      throw new Error(
        `registration refused: POST /v1/workers HTTP ${v1Status}, GET /register HTTP ${res.status} ${text.slice(0, 100)}`,
      );
    }
    this.registeredAs = 'legacy';
    if (first) {
      const renewMs = this.opts.legacyRenewMs ?? LEGACY_RENEW_MS;
      this.opts.log.info(
        { broker: this.opts.brokerUrl, calledAt, renewMs, v1Status },
        `broker has no v1 API (POST /v1/workers: HTTP ${v1Status}): registered the original's way, GET /register, renewed every ${renewMs % 60_000 === 0 ? `${renewMs / 60_000} min` : `${renewMs / 1000} s`}; it calls GET /computetimeout on ${calledAt}`,
      );
    }
  }

  /** GET /unregister at an original broker (best effort: it forgets us at a failed call anyway). */
  private async unregisterLegacy(): Promise<void> {
    this.registeredAs = undefined;
    try {
      const res = await this.request('GET', '/unregister');
      await res.body?.cancel();
      this.opts.log.info(
        { broker: this.opts.brokerUrl },
        'unregistered from broker (GET /unregister)',
      );
    } catch (err) {
      this.opts.log.warn(
        { err: describe(err), broker: this.opts.brokerUrl },
        'could not unregister from broker',
      );
    }
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
    if (this.registeredAs === 'legacy') {
      // Unlike the original worker, which never unregisters: the broker stops calling at once.
      await this.unregisterLegacy();
      return;
    }
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
    this.registeredAs = undefined;
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

/** The original worker's renewal period: 10 minutes (SPEC §2). */
const LEGACY_RENEW_MS = 10 * 60_000;

/**
 * The local address of a TCP connection to the broker: the address the broker sees as ours (the
 * original registers the caller's address), short of NAT in between.
 */
function localAddressTowards(broker: URL, timeoutMs: number): Promise<string> {
  const port = Number(broker.port || (broker.protocol === 'https:' ? 443 : 80));
  const host = broker.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      const address = socket.localAddress;
      socket.destroy();
      if (address === undefined) reject(new Error('no local address towards the broker'));
      else resolve(address.startsWith('::ffff:') ? address.slice(7) : address);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`connecting to ${host}:${port} timed out`));
    });
    socket.once('error', reject);
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ? `${err.message} (${cause.code})` : err.message;
  }
  return String(err);
}

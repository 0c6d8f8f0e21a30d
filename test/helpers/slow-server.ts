// A real HTTP server on 127.0.0.1 whose answer delay a test chooses per request (hedging tests, benchmarks).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received. */
export interface SlowRequest {
  /** 0, 1, 2… in arrival order. */
  n: number;
  method: string;
  url: string;
  /** The request body as text. */
  body: string;
  /** When it arrived (`performance.now()`, this process's clock). */
  arrivedAt: number;
  /** The delay chosen for it (ms). */
  delayMs: number;
  /** When the answer was sent; undefined while pending or when the client went away first. */
  answeredAt: number | undefined;
  /** When the client closed the connection before the answer was sent (aborted). */
  closedEarlyAt: number | undefined;
}

export interface SlowServer {
  url: string;
  requests: SlowRequest[];
  /** Resolves once request `n` has been answered or closed early. */
  settled(n: number): Promise<SlowRequest>;
  /** Requests whose answer is still pending. */
  pending(): number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) s += String(chunk);
  return s;
}

/**
 * `delayFor(n, req)` chooses how long request `n` waits before its answer (`200`, body
 * `answer <n>`; the request body is echoed after a space when there is one).
 */
export async function startSlowServer(
  delayFor: (n: number, req: IncomingMessage) => number,
): Promise<SlowServer> {
  const requests: SlowRequest[] = [];
  const waiters = new Map<number, ((r: SlowRequest) => void)[]>();
  let pending = 0;
  const done = (r: SlowRequest) => {
    pending--;
    for (const w of waiters.get(r.n) ?? []) w(r);
    waiters.delete(r.n);
  };
  const server: Server = createServer((req, res) => {
    const arrivedAt = performance.now();
    const n = requests.length;
    const delayMs = delayFor(n, req);
    const r: SlowRequest = {
      n,
      method: req.method ?? '',
      url: req.url ?? '',
      body: '',
      arrivedAt,
      delayMs,
      answeredAt: undefined,
      closedEarlyAt: undefined,
    };
    requests.push(r);
    pending++;
    const timer = setTimeout(() => {
      r.answeredAt = performance.now();
      res.end(r.body === '' ? `answer ${n}` : `answer ${n} ${r.body}`);
      done(r);
    }, delayMs);
    // `close` before the answer: the client aborted and its connection went away.
    res.on('close', () => {
      if (r.answeredAt !== undefined) return;
      clearTimeout(timer);
      r.closedEarlyAt = performance.now();
      done(r);
    });
    void readBody(req)
      .then((b) => (r.body = b))
      .catch(() => undefined);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    pending: () => pending,
    settled(n) {
      const r = requests[n];
      if (r && (r.answeredAt !== undefined || r.closedEarlyAt !== undefined)) {
        return Promise.resolve(r);
      }
      return new Promise((resolve) => {
        waiters.set(n, [...(waiters.get(n) ?? []), resolve]);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

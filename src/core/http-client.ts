// A small HTTP/1.1 client over node:http with keep-alive, for the calls made once per endpoint per cycle.
import http from 'node:http';
import https from 'node:https';
import { ReplyTooLargeError } from './errors.ts';

/**
 * The broker's calls to workers and the InfluxDB source's queries go through this rather than
 * the global `fetch`: fetch (undici's WHATWG layer, web streams, abort signals) cost the broker
 * ~2 ms of CPU per job on the standard machine, more than the rest of its work for that job
 * (BENCHMARKS.md, "Cycle"). Sockets are kept alive and reused; no compression is asked for
 * (InfluxDB would gzip a 5000-point answer, costing both sides CPU to save loopback bytes).
 */
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Limit for the whole exchange, connecting to the last byte of the body (ms). */
  timeoutMs: number;
  /**
   * Most bytes of body buffered; a longer answer (announced by its `content-length`, or seen
   * while it streams) fails with `ReplyTooLargeError` and the connection is dropped, so a peer
   * answering a huge or endless body costs at most this much memory. Default: no limit.
   */
  maxBodyBytes?: number | undefined;
}

/** A whole answer, kept as the chunks it arrived in until it is read. */
export class HttpResponse {
  constructor(
    readonly status: number,
    private readonly chunks: readonly Buffer[],
  ) {}

  /** The body as one UTF-8 string. */
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /**
   * The body's non-empty lines, each decoded on its own (for newline-delimited answers such as
   * InfluxDB's chunked JSON). Decoding per line matters for large bodies: V8 puts a string
   * above 128 KiB in its large-object space, and on the standard machine decoding a 154 KB
   * body into one string took 0.8 ms against ~0.012 ms for 120 KB (BENCHMARKS.md, "Cycle").
   */
  lines(): string[] {
    const out: string[] = [];
    let pending: Buffer[] = [];
    const emit = (last: Buffer) => {
      const line =
        pending.length === 0
          ? last.toString('utf8')
          : Buffer.concat([...pending, last]).toString('utf8');
      pending = [];
      if (line.length > 0) out.push(line);
    };
    for (const chunk of this.chunks) {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        emit(chunk.subarray(start, nl));
        start = nl + 1;
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
    }
    if (pending.length > 0) emit(Buffer.alloc(0));
    return out;
  }
}

/**
 * Sends one request and reads the whole answer. Fails with an error named
 * `TimeoutError` when `timeoutMs` passes first, with a `ReplyTooLargeError` when the body is
 * longer than `maxBodyBytes`, and with an error whose `cause` is the socket error (its `code`,
 * e.g. ECONNREFUSED) when the connection fails: the shapes `fetch` used.
 */
export function httpRequest(url: string, opts: HttpRequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const agent = agents[target.protocol as keyof typeof agents];
    if (!agent) {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const req = (target.protocol === 'https:' ? https : http).request(target, {
      method: opts.method ?? 'GET',
      headers,
      agent,
    });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => {
      const err = new Error(`no answer within ${opts.timeoutMs} ms`);
      err.name = 'TimeoutError';
      fail(err);
      req.destroy(err);
    }, opts.timeoutMs);
    req.on('error', (err) => fail(new Error('request failed', { cause: err })));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const limit = opts.maxBodyBytes;
      let received = 0;
      const tooLarge = () => {
        const err = new ReplyTooLargeError(limit ?? 0);
        fail(err);
        // Dropping the socket stops the peer's body where it is; the agent opens a new one.
        req.destroy(err);
      };
      if (limit !== undefined && Number(res.headers['content-length'] ?? 0) > limit) {
        tooLarge();
        return;
      }
      res.on('data', (c: Buffer) => {
        if (settled) return;
        received += c.length;
        if (limit !== undefined && received > limit) tooLarge();
        else chunks.push(c);
      });
      res.on('error', (err) => fail(new Error('response failed', { cause: err })));
      res.on('aborted', () =>
        fail(new Error('response aborted', { cause: { code: 'ECONNRESET' } })),
      );
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(new HttpResponse(res.statusCode ?? 0, chunks));
      });
    });
    req.end(opts.body);
  });
}

/**
 * What went wrong with an `httpRequest`, in a few words for logs and error messages:
 * "no answer within N ms" for a time-out, "answer larger than the 1 MiB limit" for a body past
 * `maxBodyBytes`, "connection failed: CODE" (e.g. ECONNREFUSED) when the socket failed. One
 * wording for the broker's calls to workers and the InfluxDB source's queries.
 */
export function describeRequestError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' || err instanceof ReplyTooLargeError) return err.message;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return `connection failed: ${cause?.code ?? cause?.message ?? err.message}`;
}

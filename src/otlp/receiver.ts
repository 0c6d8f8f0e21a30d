// The OTLP/HTTP trace receiver: POST /v1/traces on its own port in the broker's process, as the OTLP spec answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import type { FastifyBaseLogger } from 'fastify';
import protobuf from 'protobufjs/minimal.js';
import { bearerHeaderMatches } from '../broker/auth.ts';
import {
  JitError,
  OtlpBodyTooLargeError,
  OtlpOverloadedError,
  OtlpUnsupportedMediaTypeError,
  UnauthorizedError,
} from '../core/errors.ts';
import type { Ingest, IngestResult, OtlpEncoding } from './ingest.ts';

export interface OtlpReceiverOptions {
  /** Interface to listen on. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Token exporters must send as `Authorization: Bearer …`; undefined: open. */
  token?: string | undefined;
  /** Largest body as received (bytes). */
  maxBodyBytes: number;
  /** Largest body once decompressed (bytes). */
  maxDecompressedBytes: number;
  /** Exports handled at once; more are answered 503 with Retry-After. */
  maxInFlight: number;
  ingest: Ingest;
  log: FastifyBaseLogger;
  /** Called for every answer, with the export's result when it was accepted (metrics). */
  onAnswer?: ((status: number, result: IngestResult | undefined) => void) | undefined;
}

/** The OTLP path for traces (the spec's default; exporters append it to OTEL_EXPORTER_OTLP_ENDPOINT). */
export const OTLP_TRACES_PATH = '/v1/traces';
/** Seconds an exporter is asked to wait after a 503 (Retry-After). */
const RETRY_AFTER_S = 1;

/** google.rpc.Code values for the Status of each answer (the spec does not use them; clients may log them). */
const RPC_CODE: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  404: 5, // NOT_FOUND
  405: 12, // UNIMPLEMENTED
  413: 8, // RESOURCE_EXHAUSTED
  415: 3, // INVALID_ARGUMENT
  500: 13, // INTERNAL
  503: 14, // UNAVAILABLE
};

/** An answer of the receiver that is not a 200, with the HTTP status the spec asks for. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const refusalOf = (err: JitError, headers: Record<string, string> = {}) =>
  new Refusal(err.statusCode, `${err.code}: ${err.message}`, headers);

/**
 * Listens on its own port (OTLP exporters expect 4318 and the path `/v1/traces`) with Node's
 * HTTP server rather than a second Fastify instance: one route, whose body must be read as bytes
 * under two limits (as received, then decompressed) and answered in the request's own encoding;
 * Fastify's body parsing and JSON error answers would all have to be undone.
 */
export class OtlpReceiver {
  private readonly server: Server;
  private inFlight = 0;
  /** Exports answered, by HTTP status (for tests and logs). */
  readonly answered = new Map<number, number>();

  constructor(private readonly opts: OtlpReceiverOptions) {
    this.server = createServer((req, res) => void this.handle(req, res));
    // An exporter that stalls mid-body must not hold a slot for ever.
    this.server.requestTimeout = 30_000;
  }

  /** Starts listening; answers the base URL (exporters add /v1/traces). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.url;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo | null;
    if (!a) throw new Error('the OTLP receiver is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting, lets the exports in flight finish (their spans are durable), closes. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Unknown content types are answered in JSON, which every client can read.
    let encoding: OtlpEncoding = 'json';
    let counted = false;
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== OTLP_TRACES_PATH)
        throw new Refusal(
          404,
          `NOT_FOUND: no route ${path ?? ''}; traces go to ${OTLP_TRACES_PATH}`,
        );
      if (req.method !== 'POST')
        throw new Refusal(405, `${req.method ?? ''} ${OTLP_TRACES_PATH}: use POST`, {
          allow: 'POST',
        });
      encoding = encodingOf(req.headers['content-type']);
      const { token } = this.opts;
      if (token !== undefined && !bearerHeaderMatches(req.headers.authorization, token))
        throw refusalOf(new UnauthorizedError('otlp'));
      const gzipped = gzippedOf(req.headers['content-encoding']);
      if (this.inFlight >= this.opts.maxInFlight) {
        throw refusalOf(new OtlpOverloadedError(this.inFlight), {
          'retry-after': String(RETRY_AFTER_S),
        });
      }
      this.inFlight++;
      counted = true;
      const raw = await readBody(req, this.opts.maxBodyBytes);
      const body = gzipped ? await gunzipLimited(raw, this.opts.maxDecompressedBytes) : raw;
      let result: IngestResult;
      try {
        result = await this.opts.ingest.ingest(body, encoding);
      } catch (err) {
        if (err instanceof JitError && err.statusCode === 400) throw refusalOf(err);
        // The spans could not be made durable: nothing was kept, the exporter may retry.
        this.opts.log.error({ err }, 'OTLP export not stored');
        throw new Refusal(503, 'spans could not be stored; retry later', {
          'retry-after': String(RETRY_AFTER_S),
        });
      }
      this.send(res, 200, encoding, exportResponse(result, encoding));
      this.opts.onAnswer?.(200, result);
    } catch (err) {
      const refusal =
        err instanceof Refusal
          ? err
          : (this.opts.log.error({ err }, 'OTLP receiver failed'),
            new Refusal(500, 'internal error'));
      // Early refusals leave the body unread: close the connection rather than read it all.
      const headers = { ...refusal.headers, ...(req.complete ? {} : { connection: 'close' }) };
      this.send(res, refusal.status, encoding, statusBody(refusal, encoding), headers);
      this.opts.onAnswer?.(refusal.status, undefined);
    } finally {
      if (counted) this.inFlight--;
    }
  }

  private send(
    res: ServerResponse,
    status: number,
    encoding: OtlpEncoding,
    body: Uint8Array | string,
    headers: Record<string, string> = {},
  ): void {
    this.answered.set(status, (this.answered.get(status) ?? 0) + 1);
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'content-type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
      'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length),
      ...headers,
    });
    res.end(body);
  }
}

/** The body's encoding from its Content-Type (parameters such as charset ignored), or 415. */
function encodingOf(header: string | undefined): OtlpEncoding {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw refusalOf(
    new OtlpUnsupportedMediaTypeError(
      header === undefined
        ? 'no Content-Type'
        : `Content-Type ${JSON.stringify(header.slice(0, 100))}`,
    ),
  );
}

/** Whether the body is gzip-compressed (Content-Encoding), or 415 for another encoding. */
function gzippedOf(header: string | undefined): boolean {
  const coding = (header ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return false;
  if (coding === 'gzip') return true;
  throw refusalOf(
    new OtlpUnsupportedMediaTypeError(`Content-Encoding ${JSON.stringify(coding.slice(0, 100))}`),
  );
}

/** Reads the whole body, refusing (413) as soon as it passes `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const announced = Number(req.headers['content-length'] ?? 0);
  if (announced > limit) return Promise.reject(refusalOf(new OtlpBodyTooLargeError('body', limit)));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        // Stop buffering; the answer closes the connection (the rest is never read).
        req.pause();
        reject(refusalOf(new OtlpBodyTooLargeError('body', limit)));
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
    // An exporter that goes away mid-body must not hold its in-flight slot for ever.
    req.once('close', () => {
      if (!req.complete) reject(new Refusal(400, 'the request ended before its body'));
    });
  });
}

/**
 * Decompresses, refusing (413) once the output would pass `limit` bytes: zlib stops there, so
 * a gzip bomb costs at most `limit` of memory. A body that is not gzip is 400.
 */
function gunzipLimited(body: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: limit }, (err, out) => {
      if (!err) resolve(out);
      else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        reject(refusalOf(new OtlpBodyTooLargeError('decompressed body', limit)));
      else reject(new Refusal(400, `OTLP_UNDECODABLE: Content-Encoding gzip, but ${err.message}`));
    });
  });
}

/** ExportTraceServiceResponse: empty on full success, `partialSuccess` when spans were rejected. */
export function exportResponse(result: IngestResult, encoding: OtlpEncoding): Uint8Array | string {
  const partial = result.rejected > 0;
  if (encoding === 'json') {
    // proto3 JSON: int64 as a decimal string.
    return partial
      ? JSON.stringify({
          partialSuccess: {
            rejectedSpans: String(result.rejected),
            errorMessage: result.errorMessage,
          },
        })
      : '{}';
  }
  const w = protobuf.Writer.create();
  if (partial) {
    // field 1 partial_success { field 1 rejected_spans int64, field 2 error_message string }
    w.uint32((1 << 3) | 2).fork();
    w.uint32((1 << 3) | 0).int64(result.rejected);
    if (result.errorMessage) w.uint32((2 << 3) | 2).string(result.errorMessage);
    w.ldelim();
  }
  return w.finish();
}

/** google.rpc.Status { field 1 code int32, field 2 message string }, in the request's encoding. */
function statusBody(refusal: Refusal, encoding: OtlpEncoding): Uint8Array | string {
  const code = RPC_CODE[refusal.status] ?? 2; // UNKNOWN
  if (encoding === 'json') return JSON.stringify({ code, message: refusal.message });
  return protobuf.Writer.create()
    .uint32((1 << 3) | 0)
    .int32(code)
    .uint32((2 << 3) | 2)
    .string(refusal.message)
    .finish();
}

// Source `otlp`: the span windows the broker's OTLP receiver keeps, read over GET /v1/windows/:endpoint.
import { z } from 'zod';
import { httpUrl, parseConfig } from '../core/config.ts';
import { SourceQueryError, SourceUnavailableError } from '../core/errors.ts';
import { describeRequestError, httpRequest } from '../core/http-client.ts';
import { windowReplySchema } from '../protocol/broker-api.ts';
import type { FetchOptions, LatencySource, LatencyWindow } from './types.ts';

export const otlpSourceOptionsSchema = z
  .object({
    /** The broker that runs the OTLP receiver (the worker's `--broker`). Default http://127.0.0.1:5000. */
    brokerUrl: httpUrl().default('http://127.0.0.1:5000'),
    /** The broker's worker token (the worker's `--worker-token`). Default none. */
    workerToken: z.string().min(1).optional(),
    /** Time allowed for one window read. Default 10000 (ms). */
    requestTimeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();
export type OtlpSourceOptions = z.input<typeof otlpSourceOptionsSchema>;

/** Bytes of JSON per span in a window answer at most (a duration, a start time, a flag). */
const BYTES_PER_SPAN = 64;
/** Endpoint name `check()` asks for: any valid name answers (an empty window). */
const CHECK_ENDPOINT = 'jit-source-check';

/**
 * Reads windows from the broker: the spans live in the broker's process (its receiver keeps
 * them), and a worker anywhere reaches the broker already, so no other database is needed.
 */
export function createOtlpSource(input: OtlpSourceOptions = {}): LatencySource {
  const opts = parseConfig(otlpSourceOptionsSchema, input);
  const base = opts.brokerUrl.replace(/\/+$/, '');
  const headers: Record<string, string> =
    opts.workerToken === undefined ? {} : { authorization: `Bearer ${opts.workerToken}` };

  async function read(endpoint: string, options: FetchOptions): Promise<LatencyWindow> {
    const url =
      `${base}/v1/windows/${encodeURIComponent(endpoint)}` +
      `?limit=${options.limit}&windowHours=${options.windowHours}`;
    let res;
    try {
      res = await httpRequest(url, {
        headers,
        timeoutMs: opts.requestTimeoutMs,
        maxBodyBytes: 1024 + options.limit * BYTES_PER_SPAN,
      });
    } catch (err) {
      throw new SourceUnavailableError(`otlp (broker ${base})`, describeRequestError(err));
    }
    if (res.status !== 200) {
      let message = res.text.slice(0, 300);
      try {
        const body = JSON.parse(res.text) as { error?: { code?: string; message?: string } };
        if (body.error?.message) message = `${body.error.code ?? ''} ${body.error.message}`.trim();
      } catch {
        // not JSON: the text as it came
      }
      throw new SourceQueryError(`otlp (broker ${base})`, `HTTP ${res.status}: ${message}`);
    }
    let parsed;
    try {
      parsed = windowReplySchema.safeParse(JSON.parse(res.text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      throw new SourceQueryError(`otlp (broker ${base})`, 'the window answer is not valid');
    }
    const { durationsMs, timestampsMs, failed } = parsed.data;
    return { durationsMs, timestampsMs, failed };
  }

  return {
    name: 'otlp',
    fetchWindow: read,
    async check() {
      await read(CHECK_ENDPOINT, { limit: 1, windowHours: 1 });
    },
  };
}

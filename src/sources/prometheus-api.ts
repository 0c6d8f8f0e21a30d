// Prometheus HTTP API calls (/api/v1/…) for the prometheus source, with strict reading of answers.
import { describeRequestError, httpRequest, type HttpResponse } from '../core/http-client.ts';
import { SourceQueryError, SourceUnavailableError } from '../core/errors.ts';

/** One series of an instant vector: its labels and its value (NaN/±Inf spelt as Prometheus does). */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

export interface PromApiOptions {
  /** Base URL, without a trailing slash. */
  base: string;
  /** Sent as `Authorization: Bearer …` when set. */
  bearerToken?: string | undefined;
  /** Limit per call, connect to last byte (ms). */
  requestTimeoutMs: number;
  /** Names the source in errors, e.g. "prometheus(http://127.0.0.1:9090)". */
  label: string;
}

/**
 * Most bytes read of one answer: a bucket query answers a few KB; a label listing a few MB at
 * most. A larger (or endless) answer is refused rather than buffered.
 */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

export interface PromApi {
  /** `/api/v1/query` at `timeSec` (epoch seconds): an instant vector. */
  query(expr: string, timeSec: number): Promise<VectorSample[]>;
  /** `/api/v1/series`: the label sets of the series matching `match` in [start, end]. */
  series(match: string, startSec: number, endSec: number): Promise<Record<string, string>[]>;
  /** `/api/v1/labels`: label names of the series matching `match` in [start, end]. */
  labels(match: string, startSec: number, endSec: number): Promise<string[]>;
  /** `/api/v1/label/<name>/values`: values of a label among the series matching `match`. */
  labelValues(name: string, match: string, startSec: number, endSec: number): Promise<string[]>;
  /** `/api/v1/metadata?metric=…`: type, help and unit as the targets declared them. */
  metadata(metric: string): Promise<{ type: string; help: string; unit: string }[]>;
  /** `/api/v1/label/__name__/values`: every metric name in [start, end]. */
  metricNames(startSec: number, endSec: number): Promise<string[]>;
}

interface Envelope {
  status?: unknown;
  data?: unknown;
  error?: unknown;
  errorType?: unknown;
}

export function createPromApi(opts: PromApiOptions): PromApi {
  async function call(path: string, params: URLSearchParams, post: boolean): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.bearerToken) headers.authorization = `Bearer ${opts.bearerToken}`;
    let res: HttpResponse;
    try {
      res = await httpRequest(
        post ? `${opts.base}${path}` : `${opts.base}${path}?${params.toString()}`,
        {
          method: post ? 'POST' : 'GET',
          headers: post
            ? { ...headers, 'content-type': 'application/x-www-form-urlencoded' }
            : headers,
          ...(post ? { body: params.toString() } : {}),
          timeoutMs: opts.requestTimeoutMs,
          maxBodyBytes: MAX_ANSWER_BYTES,
        },
      );
    } catch (err) {
      throw new SourceUnavailableError(opts.label, describeRequestError(err));
    }
    let body: Envelope;
    try {
      body = JSON.parse(res.text) as Envelope;
    } catch {
      throw new SourceQueryError(
        opts.label,
        `HTTP ${res.status}, not Prometheus API JSON: ${JSON.stringify(res.text.slice(0, 120))}`,
      );
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new SourceQueryError(opts.label, `HTTP ${res.status}, not a Prometheus API answer`);
    }
    if (body.status !== 'success') {
      const what = typeof body.error === 'string' ? body.error : `status ${String(body.status)}`;
      const type = typeof body.errorType === 'string' ? `${body.errorType}: ` : '';
      throw new SourceQueryError(opts.label, `HTTP ${res.status}: ${type}${what}`);
    }
    if (res.status < 200 || res.status > 299)
      throw new SourceQueryError(opts.label, `HTTP ${res.status}`);
    return body.data;
  }

  const garbage = (what: string): never => {
    throw new SourceQueryError(opts.label, `unexpected answer shape: ${what}`);
  };

  const stringArray = (data: unknown, what: string): string[] => {
    if (!Array.isArray(data) || !data.every((v) => typeof v === 'string')) garbage(what);
    return data as string[];
  };

  const range = (match: string, startSec: number, endSec: number) => {
    const p = new URLSearchParams();
    p.append('match[]', match);
    p.set('start', startSec.toFixed(3));
    p.set('end', endSec.toFixed(3));
    return p;
  };

  return {
    async query(expr, timeSec) {
      const data = await call(
        '/api/v1/query',
        new URLSearchParams({ query: expr, time: timeSec.toFixed(3) }),
        true,
      );
      const d = data as { resultType?: unknown; result?: unknown } | null;
      if (!d || d.resultType !== 'vector' || !Array.isArray(d.result))
        return garbage('expected an instant vector');
      return d.result.map((r: unknown): VectorSample => {
        const s = r as { metric?: unknown; value?: unknown } | null;
        if (!s || typeof s.metric !== 'object' || s.metric === null || !Array.isArray(s.value))
          return garbage('a vector sample without metric or value');
        const raw: unknown = (s.value as unknown[])[1];
        if (typeof raw !== 'string') return garbage('a sample value that is not a string');
        // Prometheus writes floats as strings: "12.5", "NaN", "+Inf", "-Inf".
        const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
        if (Number.isNaN(value) && raw !== 'NaN') return garbage(`a sample value ${raw}`);
        const metric = s.metric as Record<string, unknown>;
        if (!Object.values(metric).every((v) => typeof v === 'string'))
          return garbage('a label value that is not a string');
        return { metric: metric as Record<string, string>, value };
      });
    },
    async series(match, startSec, endSec) {
      const data = await call('/api/v1/series', range(match, startSec, endSec), true);
      if (!Array.isArray(data)) return garbage('expected a list of series');
      return data.map((m: unknown) => {
        if (!m || typeof m !== 'object' || !Object.values(m).every((v) => typeof v === 'string'))
          return garbage('a series that is not a label set');
        return m as Record<string, string>;
      });
    },
    async labels(match, startSec, endSec) {
      return stringArray(
        await call('/api/v1/labels', range(match, startSec, endSec), true),
        'expected a list of label names',
      );
    },
    async labelValues(name, match, startSec, endSec) {
      return stringArray(
        await call(
          `/api/v1/label/${encodeURIComponent(name)}/values`,
          range(match, startSec, endSec),
          false,
        ),
        'expected a list of label values',
      );
    },
    async metadata(metric) {
      const data = await call('/api/v1/metadata', new URLSearchParams({ metric }), false);
      if (!data || typeof data !== 'object') return garbage('expected metadata');
      const entries = (data as Record<string, unknown>)[metric];
      if (entries === undefined) return [];
      if (!Array.isArray(entries)) return garbage('expected a list of metadata');
      return entries.map((e: unknown) => {
        const m = (e ?? {}) as Record<string, unknown>;
        return {
          type: typeof m.type === 'string' ? m.type : '',
          help: typeof m.help === 'string' ? m.help : '',
          unit: typeof m.unit === 'string' ? m.unit : '',
        };
      });
    },
    async metricNames(startSec, endSec) {
      const p = new URLSearchParams({ start: startSec.toFixed(3), end: endSec.toFixed(3) });
      return stringArray(
        await call('/api/v1/label/__name__/values', p, false),
        'expected a list of metric names',
      );
    },
  };
}

// Reads the served values from a broker's GET /v1/endpoints, with the read token when one is given.
import { BrokerReadError } from '../core/errors.ts';
import type { ServedValue } from './types.ts';

export interface BrokerReadOptions {
  brokerUrl: string;
  /** Sent as `Authorization: Bearer …` (the broker's --read-token, or its admin token). */
  readToken?: string | undefined;
  /** Limit for the whole request (ms). */
  timeoutMs: number;
}

/** The endpoints' served values, in the broker's order; a BrokerReadError names what went wrong in one line. */
export async function readServedValues(opts: BrokerReadOptions): Promise<ServedValue[]> {
  const url = new URL(
    'v1/endpoints',
    opts.brokerUrl.endsWith('/') ? opts.brokerUrl : `${opts.brokerUrl}/`,
  ).href;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.readToken !== undefined) headers.authorization = `Bearer ${opts.readToken}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason =
      e.name === 'TimeoutError'
        ? `no answer within ${opts.timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new BrokerReadError(url, reason);
  }
  const text = await res.text().catch(() => '');
  if (res.status === 401) {
    throw new BrokerReadError(
      url,
      '401: the broker asks for its read token (--read-token or JIT_READ_TOKEN)',
    );
  }
  if (res.status !== 200)
    throw new BrokerReadError(url, `HTTP ${res.status} ${text.slice(0, 200)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BrokerReadError(url, 'the answer is not JSON');
  }
  const list = (body as { endpoints?: unknown }).endpoints;
  if (!Array.isArray(list)) throw new BrokerReadError(url, 'the answer has no endpoints list');
  return list.map((e, i): ServedValue => {
    const v = e as { endpoint?: unknown; timeoutMs?: unknown; status?: unknown };
    const status = v.status;
    if (
      typeof v.endpoint !== 'string' ||
      typeof v.timeoutMs !== 'number' ||
      !(v.timeoutMs > 0) ||
      (status !== 'fresh' && status !== 'stale' && status !== 'never')
    ) {
      throw new BrokerReadError(url, `endpoints[${i}] is not an endpoint view`);
    }
    // "never": the broker serves its default, not a computed value; a proxy keeps its own.
    return { endpoint: v.endpoint, servedMs: status === 'never' ? null : v.timeoutMs, status };
  });
}

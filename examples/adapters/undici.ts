// Adapter: undici's `request()` (or any client that takes an AbortSignal) cut at JustInTimeout's
// per-endpoint timeout. undici is not a dependency of this package; Node's global `fetch` is
// undici's fetch already, so `timeouts.fetch()` needs no adapter. Two ways with the undici package:
//
//   import { request, fetch as undiciFetch, Agent } from 'undici';
//
//   // 1. undici.request (faster than fetch), through this adapter:
//   const get = withJitTimeouts(request, timeouts);
//   const { statusCode, body } = await get('customer', 'http://customer:8081/customer?id=42');
//
//   // 2. undici's own fetch (e.g. with a custom Agent) under the SDK:
//   const timeouts = createTimeoutClient({
//     brokerUrl: 'http://jit-broker:5000',
//     fetch: undiciFetch as unknown as typeof fetch,
//   });
//   await timeouts.fetch('customer', url, { dispatcher: new Agent({ connections: 16 }) } as RequestInit);
import { EndpointTimeoutError, type TimeoutClient } from 'justintimeout/client';

/** The call shape of undici's `request(url, options)`; `options.signal` is what the adapter sets. */
export type RequestLike<O extends { signal?: unknown }, R> = (
  url: string | URL,
  options?: O,
) => Promise<R>;

/**
 * Wraps `request` so that each call names its endpoint and is cut after the endpoint's timeout:
 * `options.signal` becomes `timeouts.signalFor(endpoint, options.signal)`, and a call cut by it
 * rejects with the {@link EndpointTimeoutError} whatever error the library reports.
 */
export function withJitTimeouts<O extends { signal?: unknown }, R>(
  request: RequestLike<O, R>,
  timeouts: TimeoutClient,
): (endpoint: string, url: string | URL, options?: O) => Promise<R> {
  return async (endpoint, url, options) => {
    const caller = options?.signal instanceof AbortSignal ? options.signal : undefined;
    const signal = timeouts.signalFor(endpoint, caller);
    try {
      return await request(url, { ...options, signal } as O);
    } catch (err) {
      if (!caller?.aborted && signal.reason instanceof EndpointTimeoutError) throw signal.reason;
      throw err;
    }
  };
}

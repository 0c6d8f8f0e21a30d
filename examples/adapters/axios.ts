// Adapter: axios requests cut at JustInTimeout's per-endpoint timeout. axios is not a dependency of
// this package: the adapter is typed by the part of axios it uses, which an axios instance fits.
//
//   import axios from 'axios';
//   import { createTimeoutClient } from 'justintimeout/client';
//   import { installJitTimeouts } from './axios.ts';
//
//   const timeouts = createTimeoutClient({ brokerUrl: 'http://jit-broker:5000' });
//   const http = axios.create({ baseURL: 'http://customer:8081' });
//   installJitTimeouts(http, timeouts, {
//     endpointOf: (config) => (config.url?.startsWith('/customer') ? 'customer' : undefined),
//   });
//   await http.get('/customer?id=42'); // rejects with EndpointTimeoutError after the timeout
import { EndpointTimeoutError, type TimeoutClient } from 'justintimeout/client';

/** What the adapter reads and sets of a request config (axios's `InternalAxiosRequestConfig`). */
export interface AxiosConfigLike {
  url?: string;
  baseURL?: string;
  method?: string;
  /** axios's `GenericAbortSignal`; combined with the timeout when it is a platform AbortSignal. */
  signal?: unknown;
}

/** The interceptors of an axios instance (`axios.create()` or the default `axios`). */
export interface AxiosLike<C extends AxiosConfigLike> {
  interceptors: {
    request: { use(onFulfilled: (config: C) => C | Promise<C>): number };
    response: { use(onFulfilled: null, onRejected: (error: unknown) => unknown): number };
  };
}

export interface AxiosAdapterOptions<C extends AxiosConfigLike> {
  /** The broker's endpoint name for a request, or undefined to leave the request alone. */
  endpointOf(config: C): string | undefined;
}

/**
 * Installs two interceptors on `instance`: each request whose `endpointOf` is defined gets
 * `signal = timeouts.signalFor(endpoint, config.signal)`, and a request cut by that signal rejects
 * with the {@link EndpointTimeoutError} (axios itself would report a bare `CanceledError`).
 * Answers the interceptor ids, for `instance.interceptors.request.eject(id)`.
 */
export function installJitTimeouts<C extends AxiosConfigLike>(
  instance: AxiosLike<C>,
  timeouts: TimeoutClient,
  options: AxiosAdapterOptions<C>,
): { request: number; response: number } {
  const request = instance.interceptors.request.use((config) => {
    const endpoint = options.endpointOf(config);
    if (endpoint === undefined) return config;
    const caller = config.signal instanceof AbortSignal ? config.signal : undefined;
    (config as AxiosConfigLike).signal = timeouts.signalFor(endpoint, caller);
    return config;
  });
  const response = instance.interceptors.response.use(null, (error: unknown) => {
    const signal = (error as { config?: { signal?: unknown } } | null)?.config?.signal;
    if (
      signal instanceof AbortSignal &&
      signal.aborted &&
      signal.reason instanceof EndpointTimeoutError
    ) {
      return Promise.reject(signal.reason);
    }
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  });
  return { request, response };
}

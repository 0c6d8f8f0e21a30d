// The two reads callers make on their hot path, answered by Node's HTTP server before Fastify routes them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRecorder } from '../core/http-duration.ts';
import type { EndpointRecord, TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';
import { JSON_TYPE, servedFor, TEXT_TYPE } from './serve.ts';

export interface HotReadsDeps {
  config: Readonly<BrokerConfig>;
  store: TimeoutStore;
  /** The JSON text of `GET /v1/timeouts/:endpoint` for a record (shared with that route). */
  viewJson: (rec: EndpointRecord) => string;
  /** The series of a GET route in `jit_http_request_duration_seconds`, shared with the route. */
  recorder: (route: string) => HttpRecorder;
  /** Largest path parameter Fastify's router accepts (its `maxParamLength`). */
  maxParamLength: number;
}

const GETTIMEOUT = '/gettimeout?url=';
const TIMEOUT = '/v1/timeouts/';

/** Characters after which the fast path's reading of a URL could differ from Fastify's. */
const QUERY_VALUE_UNSURE = /[&+#]/;
const PATH_PARAM_UNSURE = /[/?#;]/;

/** `decodeURIComponent`, or undefined for a malformed escape (Fastify decides what that means). */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * A request listener that answers the *successful* case of `GET /gettimeout?url=…` and
 * `GET /v1/timeouts/:endpoint` itself and returns true, or returns false without touching the
 * response so that Fastify handles the request — every error, every other route and method,
 * every URL it is not sure to read exactly as Fastify would (another query parameter, `+`, a
 * malformed escape, …) and everything while the server is closing. The bytes are the routes'
 * own: the integration test compares both paths for the same URLs.
 *
 * Why: Fastify's routing, request and reply objects and hooks cost ~15 % of these answers'
 * CPU, which is the margin of the "as fast as a bare Fastify route" target (BENCHMARKS.md,
 * "Serving"). The routes have no hooks to skip: the only one they can have, the bearer-token
 * check, is a reason not to install this listener at all (`buildBroker` does not when a read token
 * is configured).
 */
export function hotReads(deps: HotReadsDeps): {
  handle: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Hands every later request to Fastify (which answers 503 while closing). */
  stop: () => void;
} {
  const { config, store, viewJson, maxParamLength } = deps;
  let open = true;
  // Asked for at the first answer: the metrics exist once the app is ready, before it listens.
  let recorders: { gettimeout: HttpRecorder; timeout: HttpRecorder } | undefined;
  const recorded = () =>
    (recorders ??= {
      gettimeout: deps.recorder('/gettimeout'),
      timeout: deps.recorder('/v1/timeouts/:endpoint'),
    });

  const answer = (res: ServerResponse, type: string, body: string) => {
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url;
    if (!open || req.method !== 'GET' || url === undefined) return false;
    const started = performance.now();
    if (url.startsWith(GETTIMEOUT)) {
      const raw = url.slice(GETTIMEOUT.length);
      if (QUERY_VALUE_UNSURE.test(raw)) return false;
      const name = decoded(raw);
      if (name === undefined) return false;
      let value: number;
      try {
        value = servedFor(store, config, name);
      } catch {
        return false; // unknown endpoint: the route answers the original's 422
      }
      answer(res, TEXT_TYPE, String(value));
      recorded().gettimeout(200, (performance.now() - started) / 1000);
      return true;
    }
    if (url.startsWith(TIMEOUT)) {
      const raw = url.slice(TIMEOUT.length);
      if (raw.length === 0 || raw.length > maxParamLength || PATH_PARAM_UNSURE.test(raw))
        return false;
      const name = decoded(raw);
      const rec = name === undefined ? undefined : store.get(name);
      if (rec === undefined) return false;
      answer(res, JSON_TYPE, viewJson(rec));
      recorded().timeout(200, (performance.now() - started) / 1000);
      return true;
    }
    return false;
  };

  return {
    handle,
    stop: () => {
      open = false;
    },
  };
}

// Every error the service can answer with: a typed class per case, with a stable code and HTTP status.

/** Registry of error codes → HTTP status. Codes are never reused or renamed once shipped. */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  MISSING_PARAMETER: 400,
  INVALID_ENDPOINT_NAME: 400,
  INVALID_WORKER_URL: 400,
  INVALID_BODY: 400,
  INVALID_PARAMETER: 400,
  NOT_FOUND: 404,
  UNKNOWN_WORKER: 404,
  UNKNOWN_ENDPOINT: 422,
  UNKNOWN_STRATEGY: 422,
  UNKNOWN_SOURCE: 422,
  INSUFFICIENT_DATA: 422,
  SOURCE_UNAVAILABLE: 503,
  SOURCE_QUERY_FAILED: 502,
  INVALID_CONFIG: 500,
  STORE_UNAVAILABLE: 500,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ENDPOINT_LIMIT: 409,
  WORKER_LIMIT: 409,
  REPLY_OUT_OF_RANGE: 422,
  INTERNAL: 500,
  MISSING_DEPENDENCY: 501,
  INVALID_INPUT_FILE: 400,
  OUTPUT_NOT_WRITABLE: 400,
  NOTHING_JUDGED: 422,
  REPLY_TOO_LARGE: 502,
  STORE_SCHEMA_TOO_NEW: 500,
  SOURCE_DATABASE_NOT_FOUND: 503,
  PORT_IN_USE: 500,
  INVALID_STRATEGY: 400,
  OTLP_BODY_TOO_LARGE: 413,
  OTLP_UNSUPPORTED_MEDIA_TYPE: 415,
  OTLP_OVERLOADED: 503,
  OTLP_RECEIVER_OFF: 404,
  OTLP_UNDECODABLE: 400,
  INVALID_WINDOW_ENTRY: 400,
  BROKER_READ_FAILED: 502,
  HISTOGRAM_NOT_SUPPORTED: 422,
  SOURCE_METRIC_NOT_FOUND: 503,
  STORE_NOT_DURABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class: carries a stable machine-readable `code` and the HTTP status it maps to. */
export class JitError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.statusCode = ERROR_CODES[code];
    this.details = details;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

export class MissingParameterError extends JitError {
  constructor(name: string) {
    super('MISSING_PARAMETER', `missing required parameter "${name}"`, { parameter: name });
  }
}

export class InvalidEndpointNameError extends JitError {
  constructor(reason: string) {
    super('INVALID_ENDPOINT_NAME', `invalid endpoint name: ${reason}`);
  }
}

export class InvalidWorkerUrlError extends JitError {
  constructor(reason: string) {
    super('INVALID_WORKER_URL', `invalid worker URL: ${reason}`);
  }
}

export class InvalidBodyError extends JitError {
  constructor(message: string, issues?: unknown) {
    super('INVALID_BODY', message, issues === undefined ? undefined : { issues });
  }
}

export class InvalidParameterError extends JitError {
  constructor(name: string, reason: string) {
    super('INVALID_PARAMETER', `invalid parameter "${name}": ${reason}`, { parameter: name });
  }
}

export class NotFoundError extends JitError {
  constructor(method: string, url: string) {
    super('NOT_FOUND', `no route ${method} ${url}`);
  }
}

export class UnknownWorkerError extends JitError {
  constructor(id: string) {
    super('UNKNOWN_WORKER', `no registered worker with id "${id}"`, { id });
  }
}

export class UnknownEndpointError extends JitError {
  constructor(name: string) {
    super('UNKNOWN_ENDPOINT', `Endpoint Invalid: "${name}" is not a known endpoint`, {
      endpoint: name,
    });
  }
}

export class UnknownStrategyError extends JitError {
  constructor(name: string, known: readonly string[]) {
    super('UNKNOWN_STRATEGY', `unknown strategy "${name}" (known: ${known.join(', ')})`, {
      strategy: name,
      known,
    });
  }
}

export class UnknownSourceError extends JitError {
  constructor(name: string, known: readonly string[]) {
    super('UNKNOWN_SOURCE', `unknown latency source "${name}" (known: ${known.join(', ')})`, {
      source: name,
      known,
    });
  }
}

export class InsufficientDataError extends JitError {
  constructor(endpoint: string, samples: number, needed: number) {
    super(
      'INSUFFICIENT_DATA',
      `endpoint "${endpoint}" has ${samples} samples; the strategy needs at least ${needed}`,
      { endpoint, samples, needed },
    );
  }
}

export class SourceUnavailableError extends JitError {
  constructor(source: string, cause: string) {
    super('SOURCE_UNAVAILABLE', `latency source ${source} is unreachable: ${cause}`, { source });
  }
}

export class SourceQueryError extends JitError {
  constructor(source: string, cause: string) {
    super('SOURCE_QUERY_FAILED', `latency source ${source} rejected the query: ${cause}`, {
      source,
    });
  }
}

/**
 * The latency source answers but has no such database (or the credentials cannot see it): every
 * query would come back empty or refused, so the worker is not ready.
 */
export class SourceDatabaseNotFoundError extends JitError {
  constructor(source: string, database: string, available: readonly string[]) {
    const shown = available.slice(0, 10).join(', ') + (available.length > 10 ? ', …' : '');
    super(
      'SOURCE_DATABASE_NOT_FOUND',
      `latency source ${source} has no database "${database}" that these credentials can see ` +
        `(it lists: ${shown || 'none'})`,
      { source, database },
    );
  }
}

/** The store's database cannot be opened, read or locked. */
export class StoreUnavailableError extends JitError {
  constructor(path: string, reason: string) {
    super('STORE_UNAVAILABLE', `cannot use the store ${path}: ${reason}`, { path });
  }
}

/**
 * The store's file was written by a newer version of this program (its schema version is past
 * the last migration this one knows). Nothing in the file was changed.
 */
export class StoreSchemaTooNewError extends JitError {
  constructor(path: string, found: number, known: number) {
    super(
      'STORE_SCHEMA_TOO_NEW',
      `cannot use the store ${path}: it has schema version ${found}, written by a newer version ` +
        `of JustInTimeout; this one knows versions up to ${known}. Upgrade, or use another store file`,
      { path, found, known },
    );
  }
}

/** A protected route was called without the right bearer token. */
export class UnauthorizedError extends JitError {
  constructor(scope: string) {
    super('UNAUTHORIZED', `this route needs "Authorization: Bearer <${scope} token>"`, { scope });
  }
}

/** A route that is switched off by the configuration (e.g. GET /register with a worker token). */
export class ForbiddenError extends JitError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class EndpointLimitError extends JitError {
  constructor(limit: number) {
    super('ENDPOINT_LIMIT', `endpoint limit reached (${limit})`, { limit });
  }
}

export class WorkerLimitError extends JitError {
  constructor(limit: number) {
    super('WORKER_LIMIT', `worker limit reached (${limit})`, { limit });
  }
}

/** A configuration that failed validation; lists every problem at once. */
export class InvalidConfigError extends JitError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('INVALID_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      problems,
    });
    this.problems = problems;
  }
}

/**
 * A feature needs an optional package that is not installed (e.g. strategy `seed` and
 * `@tensorflow/tfjs`, an optional peer dependency). 501: this process does not implement it;
 * the broker retries the job on another worker, which may have the package.
 */
export class MissingDependencyError extends JitError {
  constructor(feature: string, packageName: string) {
    super(
      'MISSING_DEPENDENCY',
      `${feature} needs ${packageName}, which is not installed: npm install ${packageName}`,
      { feature, package: packageName },
    );
  }
}

/** A backtest input file whose columns, keys or values cannot be read (checked before the run). */
export class InvalidInputFileError extends JitError {
  constructor(path: string, reason: string) {
    super('INVALID_INPUT_FILE', `${path}: ${reason}`, { path });
  }
}

/** An output file (e.g. a backtest report) that could not be written: found before the run. */
export class OutputNotWritableError extends JitError {
  constructor(path: string, reason: string) {
    super('OUTPUT_NOT_WRITABLE', `cannot write ${path}: ${reason}`, { path });
  }
}

/** A backtest in which no request could be judged (every endpoint too short for the warm-up). */
export class NothingJudgedError extends JitError {
  constructor(reason: string) {
    super('NOTHING_JUDGED', `nothing judged: ${reason}`);
  }
}

/**
 * A peer's answer (e.g. a worker's reply to the broker) was longer than the client buffers; the
 * connection was dropped at the limit. 502: the peer, not the caller, answered wrongly.
 */
export class ReplyTooLargeError extends JitError {
  constructor(limitBytes: number) {
    super('REPLY_TOO_LARGE', `answer larger than the ${formatBytes(limitBytes)} limit`, {
      limitBytes,
    });
  }
}

/** 1048576 → "1 MiB", 1500 → "1500 bytes": a limit as people set it. */
function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** A server could not listen because its port is taken; the message says how to choose another. */
export class PortInUseError extends JitError {
  constructor(port: number, hint: string) {
    super('PORT_IN_USE', `port ${port} is in use; ${hint}`, { port });
  }
}

/**
 * A request sets a strategy that is not a known one (e.g. `PUT /v1/endpoints/x
 * {"strategy":"foo"}`): 400, the request is wrong, nothing is stored. (UNKNOWN_STRATEGY, 422, is
 * a job naming a strategy the worker does not have.)
 */
export class InvalidStrategyError extends JitError {
  constructor(name: string, known: readonly string[]) {
    super('INVALID_STRATEGY', `unknown strategy "${name}" (known: ${known.join(', ')})`, {
      strategy: name,
      known,
    });
  }
}

/**
 * An OTLP export body past the receiver's limit, as received (`otlpMaxBodyBytes`) or once
 * decompressed (`otlpMaxDecompressedBytes`): 413, nothing of it is used. Reading stops at the
 * limit, so a gzip bomb costs at most the limit in memory.
 */
export class OtlpBodyTooLargeError extends JitError {
  constructor(what: 'body' | 'decompressed body', limitBytes: number) {
    super('OTLP_BODY_TOO_LARGE', `${what} larger than the ${formatBytes(limitBytes)} limit`, {
      limitBytes,
    });
  }
}

/** An OTLP export with a content type or encoding the receiver does not read: 415. */
export class OtlpUnsupportedMediaTypeError extends JitError {
  constructor(what: string) {
    super(
      'OTLP_UNSUPPORTED_MEDIA_TYPE',
      `${what}; send application/x-protobuf or application/json, gzip-compressed or not`,
    );
  }
}

/**
 * The OTLP receiver has as many exports in flight as it allows (`otlpMaxInFlight`, each waiting
 * for its spans to be durable): 503 with Retry-After, and the exporter retries later.
 */
export class OtlpOverloadedError extends JitError {
  constructor(inFlight: number) {
    super('OTLP_OVERLOADED', `${inFlight} exports in flight already; retry later`, { inFlight });
  }
}

/**
 * A worker asked the broker for span windows (source `otlp`) but this broker keeps none: its
 * OTLP receiver is off (`--otlp-port 0`).
 */
export class OtlpReceiverOffError extends JitError {
  constructor() {
    super(
      'OTLP_RECEIVER_OFF',
      'this broker keeps no span windows: its OTLP receiver is off (start it with --otlp-port)',
    );
  }
}

/**
 * An OTLP export request whose body cannot be decoded at all (truncated or malformed protobuf,
 * JSON that does not parse or whose envelope has the wrong shape): 400, nothing from it is used.
 * `path` says where decoding stopped (e.g. `resourceSpans[0].scopeSpans`, or `byte 118`).
 */
export class OtlpDecodeError extends JitError {
  constructor(encoding: 'protobuf' | 'json', path: string, reason: string) {
    super('OTLP_UNDECODABLE', `undecodable OTLP ${encoding} body at ${path}: ${reason}`, {
      encoding,
      path,
    });
  }
}

/**
 * A span handed to the span windows that no window can keep (no endpoint, a start time or a
 * duration that is not a finite positive number). Nothing of that append was kept.
 */
export class InvalidWindowEntryError extends JitError {
  constructor(reason: string) {
    super('INVALID_WINDOW_ENTRY', `invalid span window entry: ${reason}`);
  }
}

/**
 * `jit export` could not read the served values from the broker: unreachable, an error answer
 * (401 without the read token), or an answer that is not the endpoint list.
 */
export class BrokerReadError extends JitError {
  constructor(url: string, reason: string) {
    super('BROKER_READ_FAILED', `cannot read ${url}: ${reason}`, { url });
  }
}

/**
 * A strategy that needs individual durations was given a window of bucket counts only (a
 * histogram, from source prometheus): 422, and nothing is computed rather than a wrong value.
 */
export class HistogramNotSupportedError extends JitError {
  constructor(strategy: string, source = 'this source') {
    super(
      'HISTOGRAM_NOT_SUPPORTED',
      `strategy ${strategy} needs individual durations; ${source} gives histograms ` +
        `(bucket counts) — use --strategy quantile`,
      { strategy },
    );
  }
}

/**
 * The latency source answers but holds no series of the configured metric that match the
 * selector (source prometheus): every window would be empty, so the worker is not ready.
 */
export class SourceMetricNotFoundError extends JitError {
  constructor(source: string, selector: string) {
    super(
      'SOURCE_METRIC_NOT_FOUND',
      `latency source ${source} has no series ${selector} in the last 48 h ` +
        '(run `jit source check` to see what it has)',
      { source, selector },
    );
  }
}

/**
 * An admin change was applied by this broker but the shared store (PostgreSQL) did not confirm
 * it in time: it stays queued and is written when the database answers; other brokers may not
 * serve it until then.
 */
export class StoreNotDurableError extends JitError {
  constructor(store: string, waitedMs: number) {
    super(
      'STORE_NOT_DURABLE',
      `the change is applied here but the store ${store} did not confirm it within ${waitedMs} ms; ` +
        'it is written when the database answers again',
      { store, waitedMs },
    );
  }
}

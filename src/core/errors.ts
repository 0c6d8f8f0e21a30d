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
  INVALID_STRATEGY: 400,
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

/** The store's database cannot be opened, read or locked. */
export class StoreUnavailableError extends JitError {
  constructor(path: string, reason: string) {
    super('STORE_UNAVAILABLE', `cannot use the store ${path}: ${reason}`, { path });
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

// Shared Fastify error and not-found handlers: every failure answers JSON with a stable code.
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import type { ErrorBody } from '../protocol/worker-api.ts';
import { JitError, NotFoundError } from './errors.ts';

/** The status and JSON body a failure answers with. */
export interface ErrorAnswer {
  status: number;
  /** The protocol's error body (src/protocol/worker-api.ts). */
  body: ErrorBody;
}

/**
 * What an error answers: a typed error its own status and body, Fastify's client errors (bad
 * JSON, body too large, wrong media type, validation) theirs, anything else 500 INTERNAL. Server
 * errors are logged to `log` with `fields` (e.g. the method and URL, or the job's endpoint).
 */
export function errorAnswer(
  error: unknown,
  log: FastifyBaseLogger,
  fields: Record<string, unknown>,
): ErrorAnswer {
  if (error instanceof JitError) {
    if (error.statusCode >= 500) log.error({ err: error, ...fields }, error.message);
    return { status: error.statusCode, body: error.toJSON() };
  }
  const status = (error as FastifyError | undefined)?.statusCode;
  if (error instanceof Error && typeof status === 'number' && status >= 400 && status < 500) {
    const code = (error as FastifyError).code || 'BAD_REQUEST';
    return { status, body: { error: { code, message: error.message } } };
  }
  log.error({ err: error, ...fields }, 'unhandled error');
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}

/**
 * Installs JSON error handling on a Fastify app (broker and worker alike). Server errors are
 * logged to `log`, or to the request's logger when the app has one.
 */
export function installErrorHandlers(app: FastifyInstance, log?: FastifyBaseLogger): void {
  app.setNotFoundHandler((req, reply) => {
    const err = new NotFoundError(req.method, req.url.split('?')[0] ?? req.url);
    void reply.code(err.statusCode).send(err.toJSON());
  });

  app.setErrorHandler((error: FastifyError | JitError | Error, req, reply) => {
    const { status, body } = errorAnswer(error, log ?? req.log, {
      method: req.method,
      url: req.url,
    });
    return reply.code(status).send(body);
  });
}

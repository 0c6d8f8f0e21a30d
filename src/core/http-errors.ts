// Shared Fastify error and not-found handlers: every failure answers JSON with a stable code.
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import { JitError, NotFoundError } from './errors.ts';

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
    if (error instanceof JitError) {
      if (error.statusCode >= 500) {
        (log ?? req.log).error({ err: error, method: req.method, url: req.url }, error.message);
      }
      return reply.code(error.statusCode).send(error.toJSON());
    }
    const status = (error as FastifyError).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, body too large, wrong media type, validation).
      const code = (error as FastifyError).code || 'BAD_REQUEST';
      return reply.code(status).send({ error: { code, message: error.message } });
    }
    (log ?? req.log).error({ err: error, method: req.method, url: req.url }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
}

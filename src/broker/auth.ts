// Bearer-token checks for the broker's routes: worker, admin and read scopes, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../core/errors.ts';

/** Which token a route needs (set as `config: { auth: … }` on the route). */
export type AuthScope = 'worker' | 'admin' | 'read';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Token scope this route needs; none means open. */
    auth?: AuthScope;
  }
}

export interface Tokens {
  /** Needed to register, heartbeat and unregister workers. */
  worker?: string | undefined;
  /** Needed for the admin routes (adding and removing endpoints). */
  admin?: string | undefined;
  /** Needed for reads (timeouts, endpoints, workers, history) when set. */
  read?: string | undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether the request's `Authorization: Bearer …` equals `token`, in time independent of where they differ. */
export function bearerMatches(req: FastifyRequest, token: string): boolean {
  return bearerHeaderMatches(req.headers.authorization, token);
}

/** Whether an `Authorization` header is `Bearer <token>`, compared as bearerMatches does. */
export function bearerHeaderMatches(header: string | undefined, token: string): boolean {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  // Digests have equal length, so timingSafeEqual never throws and leaks no length either.
  return timingSafeEqual(digest(header.slice(7)), digest(token));
}

/**
 * Installs the check. A scope without a configured token is open; the admin token is accepted
 * wherever a read token is asked for.
 */
export function installAuth(app: FastifyInstance, tokens: Tokens): void {
  // Without any token every route is open: no hook at all on the hot path.
  if (tokens.worker === undefined && tokens.admin === undefined && tokens.read === undefined)
    return;
  app.addHook('onRequest', (req, _reply, done) => {
    const scope = req.routeOptions.config.auth;
    const token = scope === undefined ? undefined : tokens[scope];
    if (
      scope === undefined ||
      token === undefined ||
      bearerMatches(req, token) ||
      (scope === 'read' && tokens.admin !== undefined && bearerMatches(req, tokens.admin))
    ) {
      done();
      return;
    }
    done(new UnauthorizedError(scope));
  });
}

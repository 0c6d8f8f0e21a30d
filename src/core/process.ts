// Process helpers shared by the broker and worker: the URL a server listens on, graceful shutdown.
import type { FastifyInstance } from 'fastify';

/** http://host:port of a listening app; a wildcard host is advertised as loopback. */
export function localUrl(app: FastifyInstance, host: string): string {
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** Runs until SIGTERM/SIGINT, then unregisters and exits. */
export function closeOnSignals(close: () => Promise<void>, log: { info(msg: string): void }): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info(`received ${signal}; shutting down`);
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/**
 * Closes a Fastify app without waiting out keep-alive: a request in flight when close() starts
 * leaves its socket open after the reply, and Node closes idle sockets only once, when closing
 * begins; so we close idle sockets again every 50 ms until the close completes.
 */
export async function closeApp(app: FastifyInstance): Promise<void> {
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

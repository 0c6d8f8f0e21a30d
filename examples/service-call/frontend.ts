// The calling service of the example: GET /dispatch?customer=N calls the customer service through
// the client SDK, so the call is cut at the timeout JustInTimeout computed for `customer`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EndpointTimeoutError, type TimeoutClient } from 'justintimeout/client';
import type { RunningService } from './customer-service.ts';

export async function startFrontend(options: {
  /** The SDK client, shared by every request. */
  timeouts: TimeoutClient;
  /** Base URL of the customer service. */
  customerUrl: string;
  host?: string;
  port?: number;
}): Promise<RunningService> {
  const { timeouts, customerUrl } = options;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/dispatch') {
        res.writeHead(404).end();
        return;
      }
      const id = url.searchParams.get('customer') ?? '123';
      const started = Date.now();
      try {
        // The endpoint name is the one the broker knows (its endpoint list), not the URL.
        const reply = await timeouts.fetch(
          'customer',
          `${customerUrl}/customer?id=${encodeURIComponent(id)}`,
        );
        const customer = await reply.json();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            customer,
            tookMs: Date.now() - started,
            timeoutMs: timeouts.timeoutFor('customer'),
          }),
        );
      } catch (err) {
        // Cut by its timeout: fail fast (and, in a real service, fall back or retry elsewhere).
        const timedOut = err instanceof EndpointTimeoutError;
        res.writeHead(timedOut ? 504 : 502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
      }
    })();
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// A downstream service for the example: GET /customer?id=N answers JSON after a lognormal delay.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningService {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the "customer" service on `host:port` (port 0: any). Its latency is lognormal around
 * `medianMs`, and one request in 50 takes 20 times longer: the slow tail a good timeout cuts.
 */
export async function startCustomerService(
  options: { host?: string; port?: number; medianMs?: number } = {},
): Promise<RunningService> {
  const median = options.medianMs ?? 30;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/customer') {
      res.writeHead(404).end();
      return;
    }
    const normal =
      Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
    const delay = median * Math.exp(0.4 * normal) * (Math.random() < 0.02 ? 20 : 1);
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: url.searchParams.get('id'), name: 'Trom Chocolatier' }));
    }, delay);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 8081, options.host ?? '127.0.0.1', resolve),
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

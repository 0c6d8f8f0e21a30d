// A real HTTP worker on 127.0.0.1 whose answers a test scripts per endpoint (misbehaving peers).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A number → a valid v1 reply with that timeoutMs; otherwise a raw status/body, or no answer. */
export type ScriptedAnswer = number | { status: number; body: string } | 'hang';

export interface ScriptedWorker {
  url: string;
  port: number;
  /** Endpoints asked, in order, with the route used. */
  calls: { endpoint: string; route: 'v1' | 'legacy' }[];
  /** JSON bodies of the v1 jobs, in order. */
  bodies: Record<string, unknown>[];
  answer: (endpoint: string) => ScriptedAnswer;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) s += String(chunk);
  return s;
}

export async function startScriptedWorker(
  answer: (endpoint: string) => ScriptedAnswer,
): Promise<ScriptedWorker> {
  const hanging = new Set<() => void>();
  const w: ScriptedWorker = {
    url: '',
    port: 0,
    calls: [],
    bodies: [],
    answer,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://x');
      let endpoint: string;
      let route: 'v1' | 'legacy';
      if (req.method === 'POST' && u.pathname === '/v1/compute') {
        const job = JSON.parse(await body(req)) as { endpoint: string };
        w.bodies.push(job);
        endpoint = job.endpoint;
        route = 'v1';
      } else if (req.method === 'GET' && u.pathname === '/computetimeout') {
        endpoint = u.searchParams.get('url') ?? '';
        route = 'legacy';
      } else {
        res.writeHead(404).end();
        return;
      }
      w.calls.push({ endpoint, route });
      const a = w.answer(endpoint);
      if (a === 'hang') {
        hanging.add(() => res.destroy());
        return;
      }
      if (typeof a === 'number') {
        const text =
          route === 'legacy'
            ? String(a)
            : JSON.stringify({
                timeoutMs: a,
                strategy: 'scripted',
                method: 'scripted',
                state: { calls: w.calls.length },
              });
        res
          .writeHead(200, {
            'content-type': route === 'legacy' ? 'text/plain' : 'application/json',
          })
          .end(text);
        return;
      }
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  w.port = (server.address() as AddressInfo).port;
  w.url = `http://127.0.0.1:${w.port}`;
  w.close = () =>
    new Promise<void>((resolve) => {
      for (const end of hanging) end();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return w;
}

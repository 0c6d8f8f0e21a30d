// Starts a worker process: listen, print the address, register, and unregister on SIGTERM/SIGINT.
import type { FastifyInstance } from 'fastify';
import { buildWorker, type WorkerDeps } from './app.ts';
import type { WorkerConfig } from './config.ts';
import { Registration } from './registration.ts';
import { closeApp, localUrl } from '../core/process.ts';

export interface RunningWorker {
  app: FastifyInstance;
  url: string;
  registration: Registration | undefined;
  close(): Promise<void>;
}

/** Listens, then registers with the broker; `close()` unregisters and stops the server. */
export async function startWorker(
  config: Readonly<WorkerConfig>,
  deps: WorkerDeps = {},
): Promise<RunningWorker> {
  const { app, computer } = buildWorker(config, deps);
  await app.listen({ host: config.host, port: config.port });
  const url = config.advertiseUrl ?? localUrl(app, config.host);
  app.log.info(`worker listening on ${localUrl(app, config.host)} (advertised as ${url})`);
  let registration: Registration | undefined;
  if (config.register) {
    registration = new Registration({
      brokerUrl: config.brokerUrl,
      advertiseUrl: url,
      concurrency: config.concurrency,
      maxBatch: config.maxBatch,
      heartbeatMs: config.heartbeatMs,
      maxJobMs: computer.maxJobMs,
      token: config.workerToken,
      log: app.log,
    });
    registration.start();
  }
  return {
    app,
    url,
    registration,
    async close() {
      await registration?.stop();
      await closeApp(app);
    },
  };
}

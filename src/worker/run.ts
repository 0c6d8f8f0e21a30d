// Starts a worker process: listen, print the address, register, and unregister on SIGTERM/SIGINT.
import type { FastifyInstance } from 'fastify';
import { buildWorker, type WorkerDeps } from './app.ts';
import type { WorkerConfig } from './config.ts';
import { Registration } from './registration.ts';
import type { SourceReadiness } from './readiness.ts';
import { closeApp, localUrl } from '../core/process.ts';

export interface RunningWorker {
  app: FastifyInstance;
  url: string;
  /** Set when registration is on; it starts once the source is ready. */
  registration: Registration | undefined;
  readiness: SourceReadiness;
  close(): Promise<void>;
}

/**
 * Listens, checks the source (now, then until it answers), and registers with the broker once
 * the source is ready; `close()` unregisters and stops the server. A worker whose source cannot
 * answer stays out of the broker's pool, says why once in its log and on `/readyz` (503).
 */
export async function startWorker(
  config: Readonly<WorkerConfig>,
  deps: WorkerDeps = {},
): Promise<RunningWorker> {
  const { app, computer, readiness } = buildWorker(config, deps);
  await app.listen({ host: config.host, port: config.port });
  const url = config.advertiseUrl ?? localUrl(app, config.host);
  app.log.info(`worker listening on ${localUrl(app, config.host)} (advertised as ${url})`);
  const mismatch = computer.histogramMismatch;
  if (mismatch) app.log.warn(mismatch);
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
    const ready = registration;
    readiness.onceReady(() => ready.start());
  }
  readiness.start();
  return {
    app,
    url,
    registration,
    readiness,
    async close() {
      readiness.stop(); // first: a source that becomes ready now must not register us again
      await registration?.stop();
      await closeApp(app);
    },
  };
}

// Starts a worker process: listen, print the address, register, and unregister on SIGTERM/SIGINT.
import type { FastifyInstance } from 'fastify';
import { buildWorker, type WorkerDeps } from './app.ts';
import type { WorkerConfig } from './config.ts';
import { Registration } from './registration.ts';
import type { SourceReadiness } from './readiness.ts';
import { DiscoveryReporter } from './discovery-reporter.ts';
import { closeApp, localUrl } from '../core/process.ts';

export interface RunningWorker {
  app: FastifyInstance;
  url: string;
  /** Set when registration is on; it starts once the source is ready. */
  registration: Registration | undefined;
  readiness: SourceReadiness;
  /** Set with `discover` (and registration): reports the source's endpoints once it is ready. */
  discovery: DiscoveryReporter | undefined;
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
  const { app, computer, readiness, source } = buildWorker(config, deps);
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
    const ready = registration;
    readiness.onceReady(() => ready.start());
  }
  let discovery: DiscoveryReporter | undefined;
  if (config.discover && config.register) {
    discovery = new DiscoveryReporter({
      source,
      brokerUrl: config.brokerUrl,
      token: config.workerToken,
      fetch: { windowHours: config.windowHours, limit: config.windowLimit },
      intervalMs: config.discoverIntervalMs,
      log: app.log,
    });
    const reporter = discovery;
    readiness.onceReady(() => reporter.start());
  } else if (config.discover) {
    app.log.warn('--discover has no broker to report to (--no-register): nothing is discovered');
  }
  readiness.start();
  return {
    app,
    url,
    registration,
    readiness,
    discovery,
    async close() {
      readiness.stop(); // first: a source that becomes ready now must not register us again
      await discovery?.stop();
      await registration?.stop();
      await closeApp(app);
    },
  };
}

// Starts a worker process: listen, print the address, register, and unregister on SIGTERM/SIGINT.
import { createServer, type Server } from 'node:http';
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
  const mismatch = computer.histogramMismatch;
  if (mismatch) app.log.warn(mismatch);
  let registration: Registration | undefined;
  let legacyListener: { url: string; server: Server | undefined } | undefined;
  if (config.register) {
    registration = new Registration({
      brokerUrl: config.brokerUrl,
      advertiseUrl: url,
      concurrency: config.concurrency,
      maxBatch: config.maxBatch,
      heartbeatMs: config.heartbeatMs,
      maxJobMs: computer.maxJobMs,
      token: config.workerToken,
      legacyRenewMs: config.legacyRenewMs,
      onLegacy: async (address) => {
        legacyListener ??= await listenForOriginalBroker(app, address, config.legacyPort);
        return legacyListener.url;
      },
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
      const extra = legacyListener?.server;
      if (extra) {
        extra.closeAllConnections();
        await new Promise((resolve) => extra.close(resolve));
      }
      await closeApp(app);
    },
  };
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/**
 * Makes the worker answer where an original broker calls it: `port` of `address`, the address it
 * registered from (SPEC §2: the original calls port 7000 of the caller). When the worker's own
 * server listens there already (same port, that address or all of them), nothing is added;
 * otherwise a second HTTP server on that address and port hands its requests to the same app.
 * A port already taken fails the registration attempt, which is retried (and logged) as any.
 */
async function listenForOriginalBroker(
  app: FastifyInstance,
  address: string,
  port: number,
): Promise<{ url: string; server: Server | undefined }> {
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  const own = app.server.address();
  if (
    typeof own === 'object' &&
    own !== null &&
    own.port === port &&
    (WILDCARDS.has(own.address) || own.address === address)
  ) {
    return { url, server: undefined };
  }
  const server = createServer((req, res) => app.routing(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`cannot answer the original broker on ${url}: ${err.message}`)),
    );
    server.listen(port, address, () => resolve());
  });
  // Said in the registration's one line ("it calls GET /computetimeout on <url>").
  return { url, server };
}

// Starts a broker process: build, listen, print the address.
import { buildBroker, type Broker, type BrokerDeps } from './app.ts';
import type { BrokerConfig } from './config.ts';
import { closeApp, localUrl } from '../core/process.ts';

export interface RunningBroker extends Broker {
  url: string;
  /** The OTLP receiver's base URL (exporters add /v1/traces); undefined when it is off. */
  otlpUrl: string | undefined;
  close(): Promise<void>;
}

export async function startBroker(
  config: Readonly<BrokerConfig>,
  deps: BrokerDeps = {},
): Promise<RunningBroker> {
  const broker = buildBroker(config, deps);
  await broker.app.listen({ host: config.host, port: config.port });
  const url = localUrl(broker.app, config.host);
  broker.log.info(`broker listening on ${url}`);
  let otlpUrl: string | undefined;
  try {
    otlpUrl = await broker.otlp?.listen();
  } catch (err) {
    await closeApp(broker.app);
    throw err;
  }
  return { ...broker, url, otlpUrl, close: () => closeApp(broker.app) };
}

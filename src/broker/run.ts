// Starts a broker process: build, listen, print the address.
import { buildBroker, type Broker, type BrokerDeps } from './app.ts';
import type { BrokerConfig } from './config.ts';
import { closeApp, localUrl } from '../core/process.ts';

export interface RunningBroker extends Broker {
  url: string;
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
  return { ...broker, url, close: () => closeApp(broker.app) };
}

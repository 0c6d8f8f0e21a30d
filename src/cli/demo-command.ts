// `jit demo`: a broker and two workers on the seed-sample source, in one process, no InfluxDB needed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { brokerConfig } from '../broker/config.ts';
import { startBroker } from '../broker/run.ts';
import { closeOnSignals } from '../core/process.ts';
import { DEFAULT_STRATEGY } from '../strategies/registry.ts';
import { workerConfig } from '../worker/config.ts';
import { startWorker } from '../worker/run.ts';
import { defined, num, opt } from './options.ts';

export const DEMO_ENDPOINTS = ['customer', 'order', 'route', 'driver'];

export function demoCommand(): Command {
  return new Command('demo')
    .description('run a broker and two workers on the seed-sample source (no InfluxDB needed)')
    .addOption(
      opt('--host <host>', 'interface the demo broker listens on', 'JIT_DEMO_HOST', '127.0.0.1'),
    )
    .addOption(
      opt('--port <port>', 'port of the demo broker (0 = any free port)', 'JIT_DEMO_PORT', '5000'),
    )
    .addOption(
      opt('--cycle-pause-ms <ms>', 'pause between cycles, in ms', 'JIT_CYCLE_PAUSE_MS', '5000'),
    )
    .addOption(
      opt('--strategy <name>', 'strategy of the demo workers', 'JIT_STRATEGY', DEFAULT_STRATEGY),
    )
    .action(async (o: Record<string, string | undefined>) => {
      const dir = mkdtempSync(join(tmpdir(), 'jit-demo-'));
      const endpointsFile = join(dir, 'endpoints.config');
      writeFileSync(endpointsFile, `# demo endpoints (jit demo)\n${DEMO_ENDPOINTS.join('\n')}\n`);
      const broker = await startBroker(
        brokerConfig(
          defined({
            host: o.host,
            port: num(o.port),
            endpointsFile,
            cyclePauseMs: num(o.cyclePauseMs),
          }),
        ),
        { logger: { level: 'warn' } },
      );
      const workers = await Promise.all(
        [0, 1].map(() =>
          startWorker(
            workerConfig({
              host: '127.0.0.1',
              port: 0,
              brokerUrl: broker.url,
              source: 'seed-sample',
              strategy: o.strategy ?? DEFAULT_STRATEGY,
            }),
            { logger: { level: 'warn' } },
          ),
        ),
      );
      const u = broker.url;
      process.stdout.write(
        [
          `JustInTimeout demo: broker on ${u}, workers on ${workers.map((w) => w.url).join(' and ')}`,
          `endpoints (${endpointsFile}): ${DEMO_ENDPOINTS.join(', ')}; source: seed-sample (522 sample durations)`,
          '',
          `Dashboard: ${u}/    API docs: ${u}/docs    Prometheus metrics: ${u}/metrics`,
          '',
          'Try:',
          `  curl '${u}/gettimeout?url=customer'     # served timeout, ms (text, the original API)`,
          `  curl '${u}/getendpoints'`,
          `  curl '${u}/v1/endpoints'                # JSON: value, status, samples, percentiles`,
          `  curl '${u}/v1/workers'`,
          '',
          'Press Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
      closeOnSignals(
        async () => {
          await Promise.all(workers.map((w) => w.close()));
          await broker.close();
        },
        { info: (m: string) => process.stdout.write(`${m}\n`) },
      );
    });
}

// `jit demo`: a broker and two workers on the synthetic source, in one process, no InfluxDB needed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { brokerConfig } from '../broker/config.ts';
import { startBroker, type RunningBroker } from '../broker/run.ts';
import { PortInUseError } from '../core/errors.ts';
import { closeOnSignals } from '../core/process.ts';
import {
  describeSyntheticProfile,
  syntheticProfile,
  type SyntheticShape,
} from '../sources/synthetic.ts';
import { DEFAULT_STRATEGY } from '../strategies/registry.ts';
import { workerConfig } from '../worker/config.ts';
import { startWorker, type RunningWorker } from '../worker/run.ts';
import { defined, num, opt } from './options.ts';

/** The demo's endpoints, one of each synthetic shape, so the dashboard shows four kinds of latency. */
export const DEMO_SHAPES: Readonly<Record<string, SyntheticShape>> = {
  customer: 'steady',
  order: 'heavy-tail',
  route: 'bursty',
  driver: 'bimodal',
};
export const DEMO_ENDPOINTS = Object.keys(DEMO_SHAPES);

/** A listen error that means "the port is taken". */
function isAddressInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run a broker and two workers on generated latency (the synthetic source; no InfluxDB needed)',
    )
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
      // Every way out removes the folder: a normal shutdown, a failed start (main exits 2), a
      // forced exit after a hung close or a second signal. rmSync: nothing async runs on 'exit'.
      const removeDir = () => rmSync(dir, { recursive: true, force: true });
      process.once('exit', removeDir);
      let broker: RunningBroker | undefined;
      let workers: RunningWorker[] = [];
      try {
        const endpointsFile = join(dir, 'endpoints.config');
        writeFileSync(endpointsFile, `# demo endpoints (jit demo)\n${DEMO_ENDPOINTS.join('\n')}\n`);
        const config = brokerConfig(
          defined({
            host: o.host,
            port: num(o.port),
            endpointsFile,
            cyclePauseMs: num(o.cyclePauseMs),
          }),
        );
        try {
          broker = await startBroker(config, { logger: { level: 'warn' } });
        } catch (err) {
          if (!isAddressInUse(err)) throw err;
          // main() prints a JitError's message and exits 2.
          throw new PortInUseError(config.port, 'choose another with --port (or JIT_DEMO_PORT)');
        }
        const brokerUrl = broker.url;
        workers = await Promise.all(
          [0, 1].map(() =>
            startWorker(
              workerConfig({
                host: '127.0.0.1',
                port: 0,
                brokerUrl,
                source: 'synthetic',
                sourceOptions: { shapes: DEMO_SHAPES },
                strategy: o.strategy ?? DEFAULT_STRATEGY,
              }),
              { logger: { level: 'warn' } },
            ),
          ),
        );
        printIntro(brokerUrl, workers, endpointsFile);
      } catch (err) {
        await Promise.allSettled([...workers.map((w) => w.close()), broker?.close()]);
        removeDir();
        throw err;
      }
      const running = { broker, workers };
      closeOnSignals(
        async () => {
          await Promise.all(running.workers.map((w) => w.close()));
          await running.broker.close();
          removeDir();
        },
        { info: (m: string) => process.stdout.write(`${m}\n`) },
      );
    });
}

function printIntro(u: string, workers: RunningWorker[], endpointsFile: string): void {
  const width = Math.max(...DEMO_ENDPOINTS.map((e) => e.length));
  process.stdout.write(
    [
      `JustInTimeout demo: broker on ${u}, workers on ${workers.map((w) => w.url).join(' and ')}`,
      `endpoints (${endpointsFile}); source: synthetic, generated spans up to now whose window`,
      'slides with time, so every cycle computes new values; one latency shape per endpoint:',
      ...DEMO_ENDPOINTS.map(
        (e) =>
          `  ${e.padEnd(width)}  ${describeSyntheticProfile(syntheticProfile(e, DEMO_SHAPES[e]))}`,
      ),
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
}

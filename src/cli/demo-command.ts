// `jit demo`: a broker with its OTLP receiver, two workers on source `otlp` and live SDK traffic, in one process (synthetic source without the SDK).
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
import { startDemoTraffic, tryLoadOtel, type DemoTraffic } from './demo-traffic.ts';
import { defined, num, opt } from './options.ts';

/** The OTLP port the demo tries first: the one every exporter expects (a free one if taken). */
export const DEMO_OTLP_PORT = 4318;

/**
 * The endpoints of the fallback demo (no OpenTelemetry SDK installed), one of each synthetic
 * shape, so the dashboard shows four kinds of latency.
 */
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
      'run a broker with its OTLP receiver, two workers and live spans sent through the OpenTelemetry JS SDK (no InfluxDB needed)',
    )
    .addOption(
      opt('--host <host>', 'interface the demo broker listens on', 'JIT_DEMO_HOST', '127.0.0.1'),
    )
    .addOption(
      opt('--port <port>', 'port of the demo broker (0 = any free port)', 'JIT_DEMO_PORT', '5000'),
    )
    .addOption(
      opt(
        '--otlp-port <port>',
        `port of the demo's OTLP receiver (0 = any free port; default ${DEMO_OTLP_PORT}, or a free one when it is taken)`,
        'JIT_DEMO_OTLP_PORT',
      ),
    )
    .addOption(
      opt('--cycle-pause-ms <ms>', 'pause between cycles, in ms', 'JIT_CYCLE_PAUSE_MS', '5000'),
    )
    .addOption(
      opt('--strategy <name>', 'strategy of the demo workers', 'JIT_STRATEGY', DEFAULT_STRATEGY),
    )
    .action(async (o: Record<string, string | undefined>) => {
      // The SDK is a dev dependency: an installed package may not have it. Then the demo runs
      // as before, on the synthetic source, and says why in one line.
      const loaded = await tryLoadOtel();
      if (!loaded.ok) {
        process.stdout.write(
          `${loaded.reason}: the demo runs on the built-in synthetic source instead of live OTLP spans\n`,
        );
      }
      const dir = mkdtempSync(join(tmpdir(), 'jit-demo-'));
      // Every way out removes the folder: a normal shutdown, a failed start (main exits 2), a
      // forced exit after a hung close or a second signal. rmSync: nothing async runs on 'exit'.
      const removeDir = () => rmSync(dir, { recursive: true, force: true });
      process.once('exit', removeDir);
      let broker: RunningBroker | undefined;
      let workers: RunningWorker[] = [];
      let traffic: DemoTraffic | undefined;
      let intro: () => void;
      try {
        const endpointsFile = join(dir, 'endpoints.config');
        writeFileSync(
          endpointsFile,
          loaded.ok
            ? '# demo endpoints (jit demo): none listed, all discovered from the spans\n'
            : `# demo endpoints (jit demo)\n${DEMO_ENDPOINTS.join('\n')}\n`,
        );
        const explicitOtlpPort = num(o.otlpPort);
        const configFor = (otlpPort: number | null) =>
          brokerConfig(
            defined({
              host: o.host,
              port: num(o.port),
              endpointsFile,
              cyclePauseMs: num(o.cyclePauseMs),
              otlpPort,
            }),
          );
        const start = async (otlpPort: number | null) => {
          const config = configFor(otlpPort);
          try {
            return await startBroker(config, { logger: { level: 'warn' } });
          } catch (err) {
            if (!isAddressInUse(err)) throw err;
            // main() prints a JitError's message and exits 2.
            throw new PortInUseError(config.port, 'choose another with --port (or JIT_DEMO_PORT)');
          }
        };
        if (!loaded.ok) broker = await start(null);
        else if (explicitOtlpPort !== undefined) {
          try {
            broker = await start(explicitOtlpPort);
          } catch (err) {
            // The broker's hint says "0 turns it off"; in the demo 0 means any free port.
            if (!(
              err instanceof PortInUseError && err.message.startsWith(`port ${explicitOtlpPort} `)
            ))
              throw err;
            throw new PortInUseError(
              explicitOtlpPort,
              'choose another with --otlp-port (or JIT_DEMO_OTLP_PORT; 0 = any free port)',
            );
          }
        } else {
          try {
            broker = await start(DEMO_OTLP_PORT);
          } catch (err) {
            // 4318 taken (a Collector, another demo): any free port does, the demo prints it.
            if (!(
              err instanceof PortInUseError && err.message.startsWith(`port ${DEMO_OTLP_PORT} `)
            ))
              throw err;
            broker = await start(0);
          }
        }
        const brokerUrl = broker.url;
        workers = await Promise.all(
          [0, 1].map(() =>
            startWorker(
              workerConfig({
                host: '127.0.0.1',
                port: 0,
                brokerUrl,
                ...(loaded.ok
                  ? { source: 'otlp', sourceOptions: { brokerUrl } }
                  : { source: 'synthetic', sourceOptions: { shapes: DEMO_SHAPES } }),
                strategy: o.strategy ?? DEFAULT_STRATEGY,
              }),
              { logger: { level: 'warn' } },
            ),
          ),
        );
        if (loaded.ok && broker.otlpUrl !== undefined) {
          const otlpUrl = broker.otlpUrl;
          const t = (traffic = await startDemoTraffic(loaded.otel, { otlpUrl }));
          intro = () => printOtlpIntro(brokerUrl, otlpUrl, workers, endpointsFile, t);
        } else intro = () => printIntro(brokerUrl, workers, endpointsFile);
      } catch (err) {
        await traffic?.stop();
        await Promise.allSettled([...workers.map((w) => w.close()), broker?.close()]);
        removeDir();
        throw err;
      }
      const running = { broker, workers, traffic };
      closeOnSignals(
        async () => {
          // Spans first (the SDK flushes its queue to the receiver), then workers, then broker.
          await running.traffic?.stop();
          await Promise.all(running.workers.map((w) => w.close()));
          await running.broker.close();
          removeDir();
        },
        { info: (m: string) => process.stdout.write(`${m}\n`) },
      );
      // Only now: whoever reads "Press Ctrl-C" may signal at once, and must find the handler.
      intro();
    });
}

function printOtlpIntro(
  u: string,
  otlpUrl: string,
  workers: RunningWorker[],
  endpointsFile: string,
  traffic: DemoTraffic,
): void {
  const width = Math.max(...traffic.endpoints.map((e) => e.name.length));
  const first = traffic.endpoints[0]?.name ?? '';
  process.stdout.write(
    [
      `JustInTimeout demo: broker on ${u}, workers on ${workers.map((w) => w.url).join(' and ')}`,
      `OTLP receiver on ${otlpUrl} (POST /v1/traces); workers on source otlp; endpoints (${endpointsFile})`,
      'discovered from the spans. Live traffic through the OpenTelemetry JS SDK (BatchSpanProcessor,',
      'OTLP/protobuf exporter), 10–30 SERVER spans/s per endpoint, the last 3 minutes sent at start;',
      'one latency shape per endpoint (names as the rules make them: service method route):',
      ...traffic.endpoints.map((e) => `  ${e.name.padEnd(width)}  ${e.description}`),
      '',
      `Dashboard: ${u}/    API docs: ${u}/docs    Prometheus metrics: ${u}/metrics`,
      '',
      'Try:',
      `  curl '${u}/gettimeout?url=${encodeURIComponent(first)}'   # served timeout, ms (text)`,
      `  curl '${u}/v1/endpoints'                # JSON: value, status, samples, percentiles`,
      `  curl '${u}/v1/workers'`,
      `  OTEL_EXPORTER_OTLP_ENDPOINT=${otlpUrl} your-service   # add your own spans`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
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

// Load benchmark: autocannon on /gettimeout while cycles run (broker + 2 workers, separate processes).
// Usage: node --import tsx benchmarks/load/run.ts [--seconds 60] [--endpoints 1000] [--connections 10]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { numberOption } from '../lib/cli.ts';
import { startJit, stopAll } from '../lib/processes.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: number) => numberOption(args, name, def);
const seconds = arg('seconds', 60);
const endpointCount = arg('endpoints', 1000);
const connections = arg('connections', 10);
const dir = mkdtempSync(join(tmpdir(), 'jit-load-'));

try {
  const names = Array.from({ length: endpointCount }, (_, i) => `/api/service-${i}`);
  const endpointsFile = join(dir, 'endpoints.config');
  writeFileSync(endpointsFile, names.join('\n'));
  const broker = await startJit([
    'broker',
    '--port',
    '0',
    '--endpoints',
    endpointsFile,
    '--cycle-pause-ms',
    '1000',
  ]);
  for (let i = 0; i < 2; i++) {
    await startJit([
      'worker',
      '--port',
      '0',
      '--broker',
      broker,
      '--source',
      'seed-sample',
      '--strategy',
      'quantile',
      '--concurrency',
      '4',
    ]);
  }
  // Wait until every endpoint has a value, so the run measures serving, not the warm-up.
  for (;;) {
    const body = (await (await fetch(`${broker}/v1/endpoints`)).json()) as {
      endpoints: { status: string }[];
    };
    if (
      body.endpoints.length === endpointCount &&
      body.endpoints.every((e) => e.status === 'fresh')
    )
      break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const cyclesBefore = (
    (await (await fetch(`${broker}/v1/cycles`)).json()) as { cycles: unknown[] }
  ).cycles.length;
  const result = await autocannon({
    url: broker,
    connections,
    duration: seconds,
    requests: names
      .slice(0, 100)
      .map((n) => ({ method: 'GET', path: `/gettimeout?url=${encodeURIComponent(n)}` })),
  });
  const cycles = (
    (await (await fetch(`${broker}/v1/cycles`)).json()) as {
      cycles: { done: number; failed: number; durationMs: number }[];
    }
  ).cycles;
  const during = cycles.slice(-Math.max(1, cycles.length - cyclesBefore));
  const report = {
    machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    seconds,
    endpoints: endpointCount,
    connections,
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    cyclesDuringRun: during.length,
    cycleDurationMs: during.map((c) => c.durationMs),
    cycleFailures: during.reduce((s, c) => s + c.failed, 0),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  stopAll();
  rmSync(dir, { recursive: true, force: true });
}

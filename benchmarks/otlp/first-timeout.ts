// Time from the first exported span of a new endpoint to its first served timeout: `jit broker` + `jit worker --source otlp`, default cycle pause, the real SDK exporter.
// Usage: node --import tsx benchmarks/otlp/first-timeout.ts [--runs 7] [--spans 200] [--cycle-pause-ms 5000]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { median, numberOption } from '../lib/cli.ts';
import { ROOT, startListening, stopAll } from '../lib/processes.ts';

const argv = process.argv.slice(2);
const runs = numberOption(argv, 'runs', 7);
const spans = numberOption(argv, 'spans', 200);
const cyclePauseMs = numberOption(argv, 'cycle-pause-ms', 5000);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-first-timeout-'));
  const endpointsFile = join(dir, 'endpoints.config');
  writeFileSync(endpointsFile, '# none: all discovered\n');
  const otlpPort = await freePort();
  const broker = await startListening([
    join(ROOT, 'bin/jit.js'),
    'broker',
    '--port',
    '0',
    '--otlp-port',
    String(otlpPort),
    '--store',
    join(dir, 'broker.db'),
    '--endpoints',
    endpointsFile,
    '--cycle-pause-ms',
    String(cyclePauseMs),
  ]);
  await startListening([
    join(ROOT, 'bin/jit.js'),
    'worker',
    '--port',
    '0',
    '--broker',
    broker.url,
    '--source',
    'otlp',
  ]);
  // The worker registers once its source answers: wait for it, so that the first run does not
  // measure the worker's start.
  for (;;) {
    const r = (await (await fetch(`${broker.url}/v1/workers`)).json()) as { workers?: unknown[] };
    if ((r.workers?.length ?? 0) > 0) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench' }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `http://127.0.0.1:${otlpPort}/v1/traces` }),
        { maxQueueSize: 10_000, maxExportBatchSize: 512, scheduledDelayMillis: 5000 },
      ),
    ],
  });
  const tracer = provider.getTracer('bench');
  const times: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      // A random phase against the broker's cycle: starting right after the last detection
      // (itself right after a cycle) would always land at the start of a pause, the worst case.
      await new Promise((r) => setTimeout(r, Math.random() * cyclePauseMs));
      const route = `/api/new-${run}-${Date.now()}`;
      const name = `bench GET ${route}`;
      const now = Date.now();
      for (let i = 0; i < spans; i++) {
        const end = now - (spans - i) * 10;
        tracer
          .startSpan(`GET ${route}`, {
            kind: SpanKind.SERVER,
            startTime: end - 20 - 30 * Math.random(),
            attributes: { 'http.request.method': 'GET', 'http.route': route },
          })
          .end(end);
      }
      // The export starts now (forceFlush: the processor does not wait for its schedule).
      const t0 = performance.now();
      await provider.forceFlush();
      const exportedMs = performance.now() - t0;
      for (;;) {
        const res = await fetch(`${broker.url}/v1/timeouts/${encodeURIComponent(name)}`);
        if (res.status === 200) {
          const e = (await res.json()) as { computedAt?: string | null };
          if (e.computedAt) break;
        } else await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 20));
      }
      const ms = performance.now() - t0;
      times.push(ms);
      console.log(
        `run ${run + 1}: "${name}" exported in ${exportedMs.toFixed(0)} ms, first timeout served ${ms.toFixed(0)} ms after the export started`,
      );
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `${runs} runs, ${spans} spans each, cycle pause ${cyclePauseMs} ms: median ${median(times).toFixed(0)} ms, ` +
        `min ${sorted[0]?.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms`,
    );
  } finally {
    await provider.shutdown();
    stopAll();
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

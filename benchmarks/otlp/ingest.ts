// OTLP ingest throughput: a real `jit broker` (SQLite windows) loaded with SDK-serialised 512-span exports over keep-alive connections, protobuf and JSON.
// Usage: node --import tsx benchmarks/otlp/ingest.ts [--endpoints 100] [--seconds 10] [--connections 4] [--encoding protobuf|json|both]
//   BENCH_CPU_PROF=DIR writes the broker's V8 CPU profile there (read it with --profile-top N).
import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import {
  canPin,
  cpuSeconds,
  memoryMb,
  pinSelf,
  ROOT,
  startListening,
  stopAll,
} from '../lib/processes.ts';
import { numberOption } from '../lib/cli.ts';

const argv = process.argv.slice(2);
const endpoints = numberOption(argv, 'endpoints', 100);
const seconds = numberOption(argv, 'seconds', 10);
const connections = numberOption(argv, 'connections', 4);
const encodingArg = argv[argv.indexOf('--encoding') + 1] ?? 'both';
const encodings = (
  argv.includes('--encoding')
    ? encodingArg === 'both'
      ? ['protobuf', 'json']
      : [encodingArg]
    : ['protobuf', 'json']
) as ('protobuf' | 'json')[];
const BATCH = 512;
const SERVICES = 50;
/** Distinct batches: every endpoint appears in at least one (round-robin over the names). */
const batchCount = Math.max(20, Math.ceil(endpoints / BATCH) * 2);

/** A free port on 127.0.0.1 for the receiver (`jit broker --otlp-port 0` turns it off). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const hrNs = (t: readonly [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/**
 * One batch: 512 SERVER spans through the SDK, each with the attributes an HTTP server's
 * instrumentation sets, round-robin over the endpoint names, serialised by the SDK's own
 * serialisers. Also where each span's start and end times sit in both encodings, so that every
 * send can move them to "now" (the windows keep the most recent spans: replaying the same
 * times would be late entries, not an ingest).
 */
function makeBatch(b: number) {
  const exporter = new InMemorySpanExporter();
  const byService = new Map<number, BasicTracerProvider>();
  const base = Date.now() - 1000;
  for (let i = 0; i < BATCH; i++) {
    const k = b * BATCH + i;
    const e = k % endpoints;
    const svc = e % SERVICES;
    let provider = byService.get(svc);
    if (!provider) {
      provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': `svc-${svc}`, 'host.name': 'bench-1' }),
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
      byService.set(svc, provider);
    }
    const route = `/api/v1/resource-${e}/{id}`;
    // Distinct start times (µs apart) so that each one can be found in the serialised bytes.
    const start = base + i * 0.001 + b * 0.0000001;
    provider
      .getTracer('bench')
      .startSpan(`GET ${route}`, {
        kind: SpanKind.SERVER,
        startTime: start,
        attributes: {
          'http.request.method': 'GET',
          'http.route': route,
          'url.path': `/api/v1/resource-${e}/${k}`,
          'url.scheme': 'https',
          'http.response.status_code': 200,
          'server.address': 'shop.example.com',
          'server.port': 443,
          'client.address': '10.0.0.7',
          'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench',
          'network.protocol.version': '1.1',
        },
      })
      .end(start + 5 + ((k * 2654435761) % 100_000) / 1000);
  }
  const spans: ReadableSpan[] = exporter.getFinishedSpans();
  const protobuf = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
  const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans) as Uint8Array);
  const times = spans.flatMap((s) => [hrNs(s.startTime), hrNs(s.endTime)]);
  const baseNs = BigInt(base) * 1_000_000n;
  const le = (v: bigint) => {
    const x = Buffer.alloc(8);
    x.writeBigUInt64LE(v);
    return x;
  };
  const offsets = (buf: Buffer, enc: (v: bigint) => Buffer) =>
    times.map((t) => {
      const i = buf.indexOf(enc(t));
      if (i < 0) throw new Error(`time ${t} not found in the serialised batch`);
      return i;
    });
  return {
    protobuf: { body: protobuf, at: offsets(protobuf, le), kind: 'le' as const },
    // JSON times are 19-digit decimal strings: same width after the shift, patched in place.
    json: {
      body: json,
      at: offsets(json, (t) => Buffer.from(`"${t}"`)).map((i) => i + 1),
      kind: 'dec' as const,
    },
    times,
    baseNs,
  };
}

type Batch = ReturnType<typeof makeBatch>;

/** A copy of the batch's body with every time moved by (now − its build time). */
function freshBody(batch: Batch, encoding: 'protobuf' | 'json'): Buffer {
  const { body, at, kind } = batch[encoding];
  const out = Buffer.from(body);
  const shift = BigInt(Date.now()) * 1_000_000n - batch.baseNs;
  for (let i = 0; i < at.length; i++) {
    const v = (batch.times[i] as bigint) + shift;
    if (kind === 'le') out.writeBigUInt64LE(v, at[i]);
    else out.write(String(v), at[i] as number, 'latin1');
  }
  return out;
}

function post(
  agent: Agent,
  port: number,
  body: Buffer,
  encoding: 'protobuf' | 'json',
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/traces',
        method: 'POST',
        agent,
        headers: {
          'content-type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
          'content-length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const pin = canPin();
  if (pin) pinSelf(1);
  const dir = mkdtempSync(join(tmpdir(), 'jit-ingest-bench-'));
  const endpointsFile = join(dir, 'endpoints.config');
  writeFileSync(endpointsFile, '# none: all discovered\n');
  const t0 = Date.now();
  const batches = Array.from({ length: batchCount }, (_, b) => makeBatch(b));
  console.log(
    `${batchCount} batches of ${BATCH} spans over ${endpoints} endpoints built in ${Date.now() - t0} ms; ` +
      `protobuf ${Math.round(batches[0]!.protobuf.body.length / 1024)} KiB, JSON ${Math.round(batches[0]!.json.body.length / 1024)} KiB per batch`,
  );
  const otlpPort = await freePort();
  const broker = await startListening(
    [
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
    ],
    pin ? { cpu: 0 } : {},
  );
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  try {
    for (const encoding of encodings) {
      // Warm-up: every batch once (discovers the endpoints, lets V8 optimise), then a second.
      for (let pass = 0; pass < 2; pass++)
        for (const b of batches) {
          const status = await post(agent, otlpPort, freshBody(b, encoding), encoding);
          if (status !== 200) throw new Error(`warm-up export answered ${status}`);
        }
      let sent = 0;
      let failed = 0;
      const statuses = new Map<number, number>();
      let next = 0;
      const cpu0 = cpuSeconds(broker.pid);
      const start = process.hrtime.bigint();
      const until = Date.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (Date.now() < until) {
            const b = batches[next++ % batches.length] as Batch;
            const status = await post(agent, otlpPort, freshBody(b, encoding), encoding);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status === 200) sent += BATCH;
            else failed++;
          }
        }),
      );
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      const cpu = cpuSeconds(broker.pid) - cpu0;
      const mem = memoryMb(broker.pid);
      console.log(
        `${encoding}: ${endpoints} endpoints, ${connections} connections, ${s.toFixed(1)} s: ` +
          `${Math.round(sent / s)} spans/s (${sent} spans in 200 answers; other answers ${failed}: ${JSON.stringify([...statuses])}); ` +
          `broker CPU ${(cpu / s).toFixed(2)} cores, ${((cpu * 1e6) / Math.max(1, sent)).toFixed(2)} µs per span; RSS ${Math.round(mem.rss)} MiB`,
      );
    }
  } finally {
    agent.destroy();
    stopAll();
    await new Promise((r) => setTimeout(r, 1500));
    rmSync(dir, { recursive: true, force: true });
  }
  const prof = process.env.BENCH_CPU_PROF;
  const top = numberOption(argv, 'profile-top', 0);
  if (prof && top > 0) printProfile(prof, top);
}

/**
 * Self time per function (by name and file) in the broker's main-thread profile in `dir` (the
 * one with the most busy samples: tsx's loader thread writes one too), the top `n`.
 */
function printProfile(dir: string, n: number): void {
  type Profile = {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
  let best: { file: string; p: Profile; busy: number } | undefined;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
    const idle = new Set(
      p.nodes.filter((x) => x.callFrame.functionName === '(idle)').map((x) => x.id),
    );
    const busy = p.samples.filter((id) => !idle.has(id)).length;
    if (!best || busy > best.busy) best = { file, p, busy };
  }
  if (!best) return;
  const { file, p } = best;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const id of p.samples) {
    const f = byId.get(id)?.callFrame;
    const where = (f?.url ?? '').replace(/^.*\/(src|node_modules)\//, '$1/');
    const key = `${f?.functionName || '(anonymous)'} ${where}:${(f?.lineNumber ?? 0) + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    // Files of the project and packages; Node internals and natives by function name.
    const group =
      where.startsWith('src/') || where.startsWith('node_modules/')
        ? where
        : (f?.functionName ?? '');
    byFile.set(group, (byFile.get(group) ?? 0) + 1);
  }
  const total = p.samples.length;
  const show = (title: string, m: Map<string, number>) => {
    console.log(`broker CPU profile ${file}: ${title}, top ${n} of ${total} samples (whole run)`);
    for (const [key, count] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
      console.log(`  ${((100 * count) / total).toFixed(1).padStart(5)} %  ${key || '(native)'}`);
  };
  show('self time by function', self);
  show('self time by file', byFile);
}

await main();

// The OTLP receiver end to end: the OpenTelemetry JS SDK's exporters (protobuf and JSON) into a real broker, a real worker with source otlp, bad input, restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, afterEach, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs/minimal.js';
import { brokerConfig, type BrokerConfigInput } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { servedTimeout } from '../../src/core/serving.ts';
import { createStrategy } from '../../src/strategies/registry.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';
import { freePort } from '../helpers/influxd.ts';
import { killAll, spawnJit } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-otlp-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const emptyList = join(dir, 'endpoints.config');
writeFileSync(emptyList, '# discovered endpoints only\n');

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

async function broker(extra: BrokerConfigInput = {}): Promise<RunningBroker> {
  const b = await startBroker(
    brokerConfig({
      host: '127.0.0.1',
      port: 0,
      otlpPort: 0,
      endpointsFile: emptyList,
      cyclePauseMs: 200,
      strategy: 'quantile',
      ...extra,
    }),
    { logger: false },
  );
  open.push(b);
  assert.ok(b.otlpUrl, 'the receiver listens');
  return b;
}

async function worker(b: RunningBroker, token?: string): Promise<RunningWorker> {
  const w = await startWorker(
    workerConfig({
      port: 0,
      brokerUrl: b.url,
      source: 'otlp',
      heartbeatMs: 60_000,
      ...(token === undefined ? {} : { workerToken: token }),
    }),
    { logger: false, readinessRetryMs: 100 },
  );
  open.push(w);
  return w;
}

const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/**
 * Durations (whole ms: exact in every representation the windows use) of `n` SERVER spans of
 * `service` on `route`, exported through the SDK; every 10th span fails (status ERROR).
 */
async function exportSpans(
  exporter: SpanExporter,
  service: string,
  route: string,
  durationsMs: readonly number[],
  batchSize = 512,
): Promise<void> {
  // Batches of `batchSize` spans (SimpleSpanProcessor would send one request per span, more at
  // once than the exporter's own concurrency limit).
  const processor = new BatchSpanProcessor(exporter, {
    maxExportBatchSize: batchSize,
    maxQueueSize: 4096,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('jit-test');
  const t0 = Date.now() - 60_000;
  durationsMs.forEach((d, i) => {
    const start = t0 + i * 10;
    const span = tracer.startSpan(`GET ${route}`, {
      kind: SpanKind.SERVER,
      startTime: hr(start),
      attributes: { 'http.request.method': 'GET', 'http.route': route },
    });
    if (i % 10 === 9) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(hr(start + d));
  });
  await provider.forceFlush();
  await provider.shutdown();
}

const durations = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => 5 + ((i * 37 + seed) % 113));

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

interface View {
  endpoint: string;
  timeoutMs: number;
  status: string;
  samples: number | null;
}

/** What the broker serves once the worker computed `name` from exactly `expected` durations. */
async function servedAfterCompute(b: RunningBroker, name: string, expected: readonly number[]) {
  const view = await waitFor(
    async () => {
      const { status, body } = await json(`${b.url}/v1/timeouts/${encodeURIComponent(name)}`);
      const v = body as View;
      return status === 200 && v.status === 'fresh' && v.samples === expected.length ? v : false;
    },
    20_000,
    { message: `a fresh value for ${name}` },
  );
  const computed = await createStrategy('quantile').compute({
    endpoint: name,
    durationsMs: expected,
    alpha: b.config.alpha,
  });
  const served = servedTimeout(computed.timeoutMs, b.config);
  assert.equal(view.timeoutMs, served, `${name}: served as the strategy computes it`);
  const text = await (await fetch(`${b.url}/gettimeout?url=${encodeURIComponent(name)}`)).text();
  assert.equal(text, String(served));
  return served;
}

describe('OTLP receiver with the OpenTelemetry JS SDK', () => {
  it('protobuf and JSON exporters: endpoints discovered, windows read by a worker, timeouts served as computed', async () => {
    const b = await broker();
    const protoD = durations(300, 1);
    const jsonD = durations(250, 7);
    await exportSpans(
      new ProtoExporter({ url: `${b.otlpUrl}/v1/traces` }),
      'shop',
      '/cart/{id}',
      protoD,
    );
    await exportSpans(
      new JsonExporter({ url: `${b.otlpUrl}/v1/traces` }),
      'billing',
      '/invoices',
      jsonD,
      64,
    );
    const names = ((await json(`${b.url}/v1/endpoints`)).body as { endpoints: View[] }).endpoints
      .map((e) => e.endpoint)
      .sort();
    assert.deepEqual(names, ['billing GET /invoices', 'shop GET /cart/{id}']);
    assert.equal(b.store.get('shop GET /cart/{id}')?.origin, 'otlp');
    // The window as workers read it: durations, start times, failed flags.
    const win = (await json(`${b.url}/v1/windows/${encodeURIComponent('shop GET /cart/{id}')}`))
      .body as { durationsMs: number[]; timestampsMs: number[]; failed: boolean[] };
    assert.deepEqual(win.durationsMs, protoD);
    assert.equal(win.failed.filter(Boolean).length, 30);
    assert.equal(win.failed[9], true);
    await worker(b);
    await servedAfterCompute(b, 'shop GET /cart/{id}', protoD);
    await servedAfterCompute(b, 'billing GET /invoices', jsonD);
  });

  it('gzip-compressed exports from both exporters are read', async () => {
    const b = await broker();
    const d = durations(40, 3);
    await exportSpans(
      new ProtoExporter({ url: `${b.otlpUrl}/v1/traces`, compression: 'gzip' as never }),
      'gz',
      '/p',
      d,
    );
    await exportSpans(
      new JsonExporter({ url: `${b.otlpUrl}/v1/traces`, compression: 'gzip' as never }),
      'gz',
      '/j',
      d,
    );
    for (const name of ['gz GET /p', 'gz GET /j']) {
      assert.deepEqual(b.otlp?.windows.read(name, { limit: 100, sinceMs: 0 }).durationsMs, d);
    }
  });
});

/** An OTLP JSON document as the spec's examples write it (times as decimal strings). */
function specDocument(service: string, spans: { name: string; startNs: bigint; endNs: bigint }[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'my.library', version: '1.0.0' },
            spans: spans.map((s, i) => ({
              traceId: '5B8EFFF798038103D269B633813FC60C',
              spanId: `EEE19B7EC3C1B17${i % 10}`,
              name: s.name,
              kind: 2,
              startTimeUnixNano: String(s.startNs),
              endTimeUnixNano: String(s.endNs),
              attributes: [
                { key: 'http.request.method', value: { stringValue: 'GET' } },
                { key: 'http.route', value: { stringValue: '/users/{id}' } },
              ],
              status: {},
            })),
          },
        ],
      },
    ],
  };
}

const nowNs = () => BigInt(Date.now() - 5000) * 1_000_000n;

async function post(
  b: RunningBroker,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<{
  status: number;
  type: string | null;
  text: string;
  bytes: Uint8Array;
  retryAfter: string | null;
}> {
  const res = await fetch(`${b.otlpUrl}/v1/traces`, { method: 'POST', headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    text: Buffer.from(bytes).toString('utf8'),
    bytes,
    retryAfter: res.headers.get('retry-after'),
  };
}

const JSON_CT = { 'content-type': 'application/json' };
const PROTO_CT = { 'content-type': 'application/x-protobuf' };

describe('OTLP receiver: raw requests (curl-equivalent) and bad input', () => {
  it('a spec-shaped JSON document: 200 {}, and the endpoint is discovered', async () => {
    const b = await broker();
    const t = nowNs();
    const doc = specDocument('users', [
      { name: 'GET /users/{id}', startNs: t, endNs: t + 12_000_000n },
      { name: 'GET /users/{id}', startNs: t + 1n, endNs: t + 1n + 30_000_000n },
    ]);
    const r = await post(b, JSON.stringify(doc), JSON_CT);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    assert.deepEqual(JSON.parse(r.text), {});
    assert.deepEqual(
      b.otlp?.windows.read('users GET /users/{id}', { limit: 10, sinceMs: 0 }).durationsMs,
      [12, 30],
    );
    assert.equal(b.store.get('users GET /users/{id}')?.origin, 'otlp');
  });

  it('a span that cannot be used is counted in partialSuccess, the rest kept', async () => {
    const b = await broker();
    const t = nowNs();
    const old = t - 49n * 3_600_000_000_000n;
    const doc = specDocument('users', [
      { name: 'ok', startNs: t, endNs: t + 5_000_000n },
      { name: 'backwards', startNs: t, endNs: t - 5_000_000n },
      { name: 'too old', startNs: old, endNs: old + 5_000_000n },
    ]);
    const r = await post(b, JSON.stringify(doc), JSON_CT);
    assert.equal(r.status, 200);
    const body = JSON.parse(r.text) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    assert.equal(body.partialSuccess.rejectedSpans, '2');
    assert.match(body.partialSuccess.errorMessage, /started before the window/);
    assert.deepEqual(
      b.otlp?.windows.read('users GET /users/{id}', { limit: 10, sinceMs: 0 }).durationsMs,
      [5],
    );
  });

  it('--max-endpoints and --otlp-deny: spans of refused endpoints are rejected with a reason', async () => {
    writeFileSync(join(dir, 'one.config'), 'listed\n');
    const b = await broker({
      maxEndpoints: 2,
      otlpDeny: ['secret *'],
      endpointsFile: join(dir, 'one.config'),
    });
    await waitFor(() => b.store.get('listed') !== undefined);
    const t = nowNs();
    const docs = ['a', 'b', 'secret'].map((svc) =>
      specDocument(svc, [{ name: 'x', startNs: t, endNs: t + 1_000_000n }]),
    );
    const merged = { resourceSpans: docs.flatMap((d) => d.resourceSpans) };
    const r = await post(b, JSON.stringify(merged), JSON_CT);
    assert.equal(r.status, 200);
    const body = JSON.parse(r.text) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    assert.equal(body.partialSuccess.rejectedSpans, '2');
    assert.match(body.partialSuccess.errorMessage, /max-endpoints \(2\)/);
    assert.match(body.partialSuccess.errorMessage, /otlp-deny/);
    assert.deepEqual(
      b.store
        .list()
        .map((e) => e.name)
        .sort(),
      ['a GET /users/{id}', 'listed'],
    );
    // The file sync keeps the discovered endpoint.
    await b.cycles.runCycle();
    assert.equal(b.store.get('a GET /users/{id}')?.origin, 'otlp');
  });

  it('a protobuf export gets a protobuf ExportTraceServiceResponse the SDK itself decodes', async () => {
    const b = await broker({ otlpDeny: ['svc GET /deny*'] });
    const { ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer');
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'svc' }),
    });
    const tracer = provider.getTracer('t');
    const spans = ['/keep', '/deny-me'].map((route) => {
      const span = tracer.startSpan(`GET ${route}`, {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'GET', 'http.route': route },
      });
      span.end();
      return span as never;
    });
    const r = await post(
      b,
      ProtobufTraceSerializer.serializeRequest(spans) ?? new Uint8Array(),
      PROTO_CT,
    );
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/x-protobuf');
    const answer = ProtobufTraceSerializer.deserializeResponse(r.bytes) as {
      partialSuccess?: { rejectedSpans?: unknown; errorMessage?: string };
    };
    assert.equal(Number(answer.partialSuccess?.rejectedSpans), 1);
    assert.match(answer.partialSuccess?.errorMessage ?? '', /otlp-deny.*svc GET \/deny-me/);
    assert.deepEqual(b.otlp?.windows.endpoints(), ['svc GET /keep']);
    // Full success: an empty message.
    const ok = await post(
      b,
      ProtobufTraceSerializer.serializeRequest([spans[0]!]) ?? new Uint8Array(),
      PROTO_CT,
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.bytes.length, 0);
  });

  it('bad input: each gets its OTLP answer, nothing is stored, the broker stays up', async () => {
    const token = 'otlp-token-0123456789';
    const b = await broker({
      otlpToken: token,
      otlpMaxBodyBytes: 64 * 1024,
      otlpMaxDecompressedBytes: 256 * 1024,
    });
    const auth = { authorization: `Bearer ${token}` };
    const t = nowNs();
    const good = JSON.stringify(
      specDocument('svc', [{ name: 'x', startNs: t, endNs: t + 2_000_000n }]),
    );

    // Truncated protobuf: a real SDK payload cut short.
    let payload: Uint8Array | undefined;
    const { ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer');
    {
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'svc' }),
      });
      const span = provider
        .getTracer('t')
        .startSpan('GET /x', { kind: SpanKind.SERVER }) as unknown;
      (span as { end(): void }).end();
      payload = ProtobufTraceSerializer.serializeRequest([span as never]);
    }
    assert.ok(payload && payload.length > 20);
    let r = await post(b, payload.subarray(0, payload.length - 7), { ...PROTO_CT, ...auth });
    assert.equal(r.status, 400);
    assert.equal(r.type, 'application/x-protobuf');
    const status = decodeStatus(r.bytes);
    assert.match(status.message, /OTLP_UNDECODABLE/);

    r = await post(b, good, { 'content-type': 'text/plain', ...auth });
    assert.equal(r.status, 415);
    assert.match(
      (JSON.parse(r.text) as { message: string }).message,
      /OTLP_UNSUPPORTED_MEDIA_TYPE/,
    );

    r = await post(b, '{"resourceSpans": {"oops": 1}}', { ...JSON_CT, ...auth });
    assert.equal(r.status, 400, r.text);
    r = await post(b, '{"resourceSpans": [', { ...JSON_CT, ...auth });
    assert.equal(r.status, 400);

    r = await post(b, 'x'.repeat(65 * 1024), { ...JSON_CT, ...auth });
    assert.equal(r.status, 413);
    // A gzip bomb: 64 MiB of zeros in ~64 KB, refused at the decompressed limit.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    assert.ok(bomb.length < 64 * 1024);
    r = await post(b, bomb, { ...JSON_CT, 'content-encoding': 'gzip', ...auth });
    assert.equal(r.status, 413);
    assert.match(r.text, /decompressed body larger than the 256 KiB limit/);
    r = await post(b, good, { ...JSON_CT, 'content-encoding': 'br', ...auth });
    assert.equal(r.status, 415);

    r = await post(b, good, JSON_CT);
    assert.equal(r.status, 401);
    r = await post(b, good, { ...JSON_CT, authorization: 'Bearer wrong-token-0123456789' });
    assert.equal(r.status, 401);

    assert.deepEqual(b.otlp?.windows.endpoints(), []);
    assert.deepEqual(b.store.list(), []);
    // Still up, and a good export with the token goes through.
    r = await post(b, good, { ...JSON_CT, ...auth });
    assert.equal(r.status, 200);
    assert.deepEqual(b.otlp?.windows.endpoints(), ['svc GET /users/{id}']);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /jit_otlp_exports_total\{status="413"\} 2/);
    assert.match(metrics, /jit_otlp_exports_total\{status="401"\} 2/);
    assert.match(metrics, /jit_otlp_spans_total\{result="accepted"\} 1/);
  });

  it('many distinct span names: the list stops at --max-endpoints, the rest is rejected with the reason', async () => {
    const b = await broker({ maxEndpoints: 100 });
    const t = nowNs();
    const doc = specDocument('many', []);
    const spans = doc.resourceSpans[0]!.scopeSpans[0]!.spans as Record<string, unknown>[];
    for (let i = 0; i < 5000; i++) {
      spans.push({
        name: `op-${i}`,
        kind: 2,
        startTimeUnixNano: String(t),
        endTimeUnixNano: String(t + 1_000_000n),
        attributes: [{ key: 'http.route', value: { stringValue: `/n/x${i}` } }],
      });
    }
    const r = await post(b, JSON.stringify(doc), JSON_CT);
    assert.equal(r.status, 200);
    const body = JSON.parse(r.text) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    assert.equal(body.partialSuccess.rejectedSpans, '4900');
    assert.match(
      body.partialSuccess.errorMessage,
      /^4900 spans: its endpoint is not discovered: beyond --max-endpoints \(100\)/,
    );
    assert.ok(body.partialSuccess.errorMessage.length <= 1024);
    assert.equal(b.store.size, 100);
    assert.equal(b.otlp?.windows.endpoints().length, 100);
  });

  it('a huge attribute value becomes at most a 512-character name, never more', async () => {
    const b = await broker();
    const t = nowNs();
    const doc = specDocument('huge', [{ name: 'x', startNs: t, endNs: t + 3_000_000n }]);
    const span = doc.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    span.attributes[1]!.value.stringValue = `/${'a'.repeat(1_000_000)}`;
    const r = await post(b, JSON.stringify(doc), JSON_CT);
    assert.equal(r.status, 200, r.text);
    const names = b.store.list().map((e) => e.name);
    assert.equal(names.length, 1);
    assert.ok((names[0] ?? '').length <= 512);
    assert.ok(names[0]?.startsWith('huge GET /aaa'));
  });

  it('64-bit times as JSON numbers are read (the proto3 JSON mapping accepts both)', async () => {
    const b = await broker();
    const t = Date.now() - 5000;
    const doc = specDocument('num', [{ name: 'x', startNs: 0n, endNs: 0n }]);
    const span = doc.resourceSpans[0]!.scopeSpans[0]!.spans[0]! as Record<string, unknown>;
    span.startTimeUnixNano = t * 1e6;
    span.endTimeUnixNano = (t + 8) * 1e6;
    const r = await post(b, JSON.stringify(doc), JSON_CT);
    assert.equal(r.status, 200, r.text);
    const got = b.otlp?.windows.read('num GET /users/{id}', { limit: 10, sinceMs: 0 }).durationsMs;
    assert.equal(got?.length, 1);
    assert.ok(Math.abs((got?.[0] ?? 0) - 8) < 0.001, String(got));
  });

  it('503 with Retry-After when exports in flight reach otlpMaxInFlight', async () => {
    const b = await broker({ otlpMaxInFlight: 1 });
    const windows = b.otlp!.windows;
    const append = windows.append.bind(windows);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    windows.append = async (entries) => {
      await gate;
      return append(entries);
    };
    const t = nowNs();
    const doc = JSON.stringify(
      specDocument('busy', [{ name: 'x', startNs: t, endNs: t + 1_000_000n }]),
    );
    const first = post(b, doc, JSON_CT);
    await waitFor(async () => {
      const r = await post(b, doc, JSON_CT);
      return r.status === 503 ? r : false;
    }).then((r) => assert.equal(r.retryAfter, '1'));
    release();
    assert.equal((await first).status, 200);
  });

  it('an exporter that goes away mid-body frees its in-flight slot', async () => {
    const b = await broker({ otlpMaxInFlight: 1 });
    const url = new URL(b.otlpUrl ?? '');
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"resou',
    );
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const t = nowNs();
    const doc = JSON.stringify(
      specDocument('after', [{ name: 'x', startNs: t, endNs: t + 1_000_000n }]),
    );
    const r = await waitFor(async () => {
      const res = await post(b, doc, JSON_CT);
      return res.status === 200 ? res : false;
    }, 5000);
    assert.equal(r.status, 200);
  });

  it('the windows route needs the worker token when one is set; off without a receiver', async () => {
    const b = await broker({ workerToken: 'worker-token-0123456789' });
    assert.equal((await fetch(`${b.url}/v1/windows/x`)).status, 401);
    const ok = await fetch(`${b.url}/v1/windows/x?limit=10`, {
      headers: { authorization: 'Bearer worker-token-0123456789' },
    });
    assert.equal(ok.status, 200);
    const off = await startBroker(brokerConfig({ port: 0, endpointsFile: emptyList }), {
      logger: false,
    });
    open.push(off);
    assert.equal(off.otlpUrl, undefined);
    const r = await json(`${off.url}/v1/windows/x`);
    assert.equal(r.status, 404);
    assert.equal((r.body as { error: { code: string } }).error.code, 'OTLP_RECEIVER_OFF');
  });
});

describe('OTLP receiver: restart on the same files', () => {
  it('windows and served timeouts are all still there', async () => {
    const store = join(dir, 'restart', 'broker.db');
    const d1 = durations(120, 11);
    const b1 = await broker({ store });
    await exportSpans(new ProtoExporter({ url: `${b1.otlpUrl}/v1/traces` }), 'svc', '/r', d1);
    await worker(b1);
    const served = await servedAfterCompute(b1, 'svc GET /r', d1);
    for (const s of open.splice(0).reverse()) await s.close();

    const b2 = await broker({ store, cyclePauseMs: 600_000 });
    assert.deepEqual(
      b2.otlp?.windows.read('svc GET /r', { limit: 5000, sinceMs: 0 }).durationsMs,
      d1,
    );
    assert.equal(b2.store.get('svc GET /r')?.origin, 'otlp');
    const text = await (
      await fetch(`${b2.url}/gettimeout?url=${encodeURIComponent('svc GET /r')}`)
    ).text();
    assert.equal(text, String(served));
    // A second export after the restart adds to the same window.
    const d2 = durations(30, 5);
    await exportSpans(new JsonExporter({ url: `${b2.otlpUrl}/v1/traces` }), 'svc', '/r', d2);
    assert.equal(
      b2.otlp?.windows.read('svc GET /r', { limit: 5000, sinceMs: 0 }).durationsMs.length,
      d1.length + d2.length,
    );
  });
});

/** google.rpc.Status from protobuf: code (field 1), message (field 2). */
function decodeStatus(bytes: Uint8Array): { code: number; message: string } {
  const r = protobuf.Reader.create(bytes);
  const out = { code: 0, message: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) out.code = r.int32();
    else if (tag >>> 3 === 2) out.message = r.string();
    else r.skipType(tag & 7);
  }
  return out;
}

describe('jit broker --otlp-port (the issue 15 contract)', () => {
  after(() => killAll());

  it('--otlp-port P accepts POST /v1/traces on P in the broker process; --otlp-port 0 turns it off', async () => {
    const port = await freePort();
    const on = await spawnJit([
      'broker',
      '--port',
      '0',
      '--endpoints',
      emptyList,
      '--otlp-port',
      String(port),
    ]);
    await waitFor(() => on.logs().includes(`OTLP receiver listening on http://127.0.0.1:${port}`));
    const t = nowNs();
    const doc = specDocument('cli', [{ name: 'x', startNs: t, endNs: t + 4_000_000n }]);
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: JSON_CT,
      body: JSON.stringify(doc),
    });
    assert.equal(res.status, 200);
    const list = (await json(`${on.url}/v1/endpoints`)).body as { endpoints: View[] };
    assert.deepEqual(
      list.endpoints.map((e) => e.endpoint),
      ['cli GET /users/{id}'],
    );
    await on.kill();

    const off = await spawnJit(['broker', '--port', '0', '--otlp-port', '0']);
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(off.logs(), /OTLP receiver/);
    await off.kill();
  });
});

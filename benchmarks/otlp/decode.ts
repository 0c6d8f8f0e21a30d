// OTLP decode throughput: spans/s for SDK-serialised batches of 512 spans with ~10 attributes each.
//   node --import tsx benchmarks/otlp/decode.ts [seconds per encoding, default 3]
import { SpanKind } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { decodeJsonTraces } from '../../src/otlp/decode-json.ts';
import { decodeProtobufTraces } from '../../src/otlp/decode-protobuf.ts';
import { compileNaming, namingAttributeKeys } from '../../src/otlp/naming.ts';

const seconds = Number(process.argv[2] ?? 3);
const BATCH = 512;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'checkout', 'host.name': 'bench-1' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('bench');
for (let i = 0; i < BATCH; i++) {
  const route = `/api/item-${i % 20}/{id}`;
  tracer
    .startSpan(`GET ${route}`, {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'GET',
        'http.route': route,
        'url.path': `/api/item-${i % 20}/${i}`,
        'url.scheme': 'https',
        'http.response.status_code': 200,
        'server.address': 'shop.example.com',
        'server.port': 443,
        'client.address': '10.0.0.7',
        'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench',
        'network.protocol.version': '1.1',
      },
    })
    .end();
}
const spans = exporter.getFinishedSpans();
const protobufBody = ProtobufTraceSerializer.serializeRequest(spans);
const jsonBytes = JsonTraceSerializer.serializeRequest(spans);
if (!protobufBody || !jsonBytes) throw new Error('serialisation failed');
const jsonText = new TextDecoder().decode(jsonBytes);
const opts = { attributeKeys: namingAttributeKeys() };
const name = compileNaming();

function run(label: string, bytes: number, decode: () => number): void {
  for (let i = 0; i < 200; i++) decode(); // warm-up
  let batches = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    for (let i = 0; i < 20; i++) decode();
    batches += 20;
    now = process.hrtime.bigint();
  }
  const s = Number(now - start) / 1e9;
  const perS = Math.round((batches * BATCH) / s);
  console.log(
    `${label.padEnd(28)} ${perS.toLocaleString('en').padStart(11)} spans/s  ` +
      `(${(bytes / 1024).toFixed(0)} KiB per batch, ${((s / batches) * 1e3).toFixed(3)} ms per batch)`,
  );
}

console.log(`batches of ${BATCH} spans, 10 span attributes each, ${seconds} s per line`);
run(
  'protobuf decode',
  protobufBody.length,
  () => decodeProtobufTraces(protobufBody, opts).spans.length,
);
run('protobuf decode + naming', protobufBody.length, () => {
  let n = 0;
  for (const s of decodeProtobufTraces(protobufBody, opts).spans) if (name(s) !== undefined) n++;
  return n;
});
run('json decode', jsonText.length, () => decodeJsonTraces(jsonText, opts).spans.length);

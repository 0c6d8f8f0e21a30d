// OTLP decoders against payloads the OpenTelemetry JS SDK serialises, the spec's JSON and bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind as OtelKind, SpanStatusCode as OtelStatus } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs/minimal.js';
import { JitError, OtlpDecodeError } from '../core/errors.ts';
import { endpointNameProblem } from '../core/endpoint-name.ts';
import { decodeJsonTraces } from './decode-json.ts';
import { decodeProtobufTraces } from './decode-protobuf.ts';
import { compileNaming, namingAttributeKeys } from './naming.ts';
import type { DecodedTraces, DecodeOptions, ReceivedSpan } from './types.ts';

const KEYS = new Set(['http.route', 'http.request.method', 'n', 'b', 'd', 'deployment', 'region']);
const OPTS: DecodeOptions = { attributeKeys: KEYS };

/** Finished spans from the real SDK: the payload no one here wrote. */
function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      deployment: 'prod',
      region: 'eu',
      ignored: 'x',
    }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('decode-test');
  const t0 = Date.now() - 1000;
  const server = tracer.startSpan('GET /api/cart/{id}', {
    kind: OtelKind.SERVER,
    startTime: t0,
    attributes: {
      'http.route': '/api/cart/{id}',
      'http.request.method': 'GET',
      n: -42,
      b: true,
      d: 1.5,
      region: 'us', // the span's value wins over the resource's
      arr: ['a', 'b'],
      other: 'not copied',
    },
  });
  server.end(t0 + 12.5);
  const client = tracer.startSpan('POST', {
    kind: OtelKind.CLIENT,
    startTime: t0 + 1,
    attributes: { 'http.request.method': 'POST', n: 7 },
  });
  client.setStatus({ code: OtelStatus.ERROR, message: 'boom' });
  client.end(t0 + 300);
  const internal = tracer.startSpan('work', { startTime: t0 + 2 });
  internal.setStatus({ code: OtelStatus.OK });
  internal.end(t0 + 3);
  return exporter.getFinishedSpans();
}

const ns = (t: readonly [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

function protobufOf(spans: ReadableSpan[]): Uint8Array {
  const body = ProtobufTraceSerializer.serializeRequest(spans);
  assert.ok(body);
  return body;
}
function jsonOf(spans: ReadableSpan[]): string {
  const body = JsonTraceSerializer.serializeRequest(spans);
  assert.ok(body);
  return new TextDecoder().decode(body);
}

function assertSdkSpans(decoded: DecodedTraces, spans: ReadableSpan[]): void {
  assert.equal(decoded.rejected, 0);
  assert.equal(decoded.rejectedReason, '');
  assert.equal(decoded.spans.length, 3);
  const byName = new Map(decoded.spans.map((s) => [s.name, s]));
  for (const sdk of spans) {
    const got = byName.get(sdk.name);
    assert.ok(got, sdk.name);
    assert.equal(got.serviceName, 'checkout');
    assert.equal(got.startTimeUnixNano, ns(sdk.startTime));
    assert.equal(got.endTimeUnixNano, ns(sdk.endTime));
  }
  const server = byName.get('GET /api/cart/{id}');
  const client = byName.get('POST');
  const internal = byName.get('work');
  assert.ok(server && client && internal);
  assert.equal(server.kind, 'server');
  assert.equal(server.statusCode, 0);
  assert.equal(server.endTimeUnixNano - server.startTimeUnixNano, 12_500_000n);
  assert.deepEqual(
    Object.fromEntries(server.attributes),
    {
      'http.route': '/api/cart/{id}',
      'http.request.method': 'GET',
      n: '-42',
      b: 'true',
      d: '1.5',
      region: 'us',
      deployment: 'prod',
    },
    'wanted span attributes, then the resource for the keys the span lacks; nothing else',
  );
  assert.equal(client.kind, 'client');
  assert.equal(client.statusCode, 2);
  assert.equal(client.attributes.get('region'), 'eu');
  assert.equal(internal.kind, 'internal');
  assert.equal(internal.statusCode, 1);
}

function assertTyped(fn: () => unknown, encoding: 'json' | 'protobuf'): OtlpDecodeError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof OtlpDecodeError, `not an OtlpDecodeError: ${String(error)}`);
    assert.equal(error.code, 'OTLP_UNDECODABLE');
    assert.equal(error.statusCode, 400);
    assert.equal((error.details as { encoding: string }).encoding, encoding);
    return error;
  }
  assert.fail('did not throw');
}

describe('decodeProtobufTraces', () => {
  it('decodes every field of an SDK ExportTraceServiceRequest', () => {
    const spans = sdkSpans();
    assertSdkSpans(decodeProtobufTraces(protobufOf(spans), OPTS), spans);
  });

  it('keeps int64 attributes exactly (above 2^53 they are no JS number)', () => {
    const w = protobuf.Writer.create();
    span(w, {
      name: 'x',
      start: 1n,
      end: 2n,
      attrs: [['n', (v) => v.uint32(24).int64('9223372036854775807')]],
    });
    const s = decodeProtobufTraces(request(w), { attributeKeys: new Set(['n']) }).spans[0];
    assert.equal(s?.attributes.get('n'), '9223372036854775807');
  });

  it('an empty body is an empty request', () => {
    assert.deepEqual(decodeProtobufTraces(new Uint8Array(0), OPTS), {
      spans: [],
      rejected: 0,
      rejectedReason: '',
    });
  });

  it('every prefix of a real payload decodes or throws OtlpDecodeError, nothing else', () => {
    const body = protobufOf(sdkSpans());
    let thrown = 0;
    for (let n = 0; n < body.length; n++) {
      try {
        const d = decodeProtobufTraces(body.subarray(0, n), OPTS);
        assert.ok(d.spans.length <= 3);
      } catch (error) {
        assert.ok(error instanceof OtlpDecodeError, `prefix ${n}: ${String(error)}`);
        thrown++;
      }
    }
    // A prefix that ends between two ResourceSpans is a valid request; most are not.
    assert.ok(thrown > body.length / 2, `${thrown} of ${body.length} prefixes refused`);
  });

  it('random corruption never throws anything but OtlpDecodeError', () => {
    const body = protobufOf(sdkSpans());
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
    for (let i = 0; i < 3000; i++) {
      const copy = body.slice();
      for (let k = 0; k < 1 + (i % 4); k++) copy[rnd() % copy.length] = rnd() & 0xff;
      try {
        decodeProtobufTraces(copy, OPTS);
      } catch (error) {
        assert.ok(error instanceof OtlpDecodeError, `mutation ${i}: ${String(error)}`);
      }
    }
  });

  it('a length past its enclosing message is refused, though within the body', () => {
    const w = protobuf.Writer.create();
    // ResourceSpans of 2 bytes holding a ScopeSpans that claims 5 bytes, then padding.
    w.uint32(10).uint32(2).uint32(18).uint32(5);
    w.uint32(0x7a).uint32(3).bytes(new Uint8Array(2)); // an unknown field to pad the body
    const error = assertTyped(() => decodeProtobufTraces(w.finish(), OPTS), 'protobuf');
    assert.match(error.message, /past the end/);
  });

  it('rejects spans with missing or inverted times, counted with reasons', () => {
    const w = protobuf.Writer.create();
    span(w, { name: 'ok', start: 10n, end: 20n });
    span(w, { name: 'no end', start: 10n, end: 0n });
    span(w, { name: 'inverted', start: 30n, end: 20n });
    span(w, { name: 'no times', start: 0n, end: 0n });
    const d = decodeProtobufTraces(request(w), OPTS);
    assert.deepEqual(
      d.spans.map((s) => s.name),
      ['ok'],
    );
    assert.equal(d.rejected, 3);
    assert.equal(
      d.rejectedReason,
      '2 spans: missing start or end time; 1 span: end time before start time',
    );
  });

  it('skips unknown fields, reads a fixed64 past 2^63 and the older instrumentationLibrarySpans', () => {
    const s = protobuf.Writer.create();
    s.uint32(0x3f8a).string('unknown field 2033'); // (2033 << 3) | 2
    s.uint32(42).string('big');
    s.uint32(57).fixed64('18446744073709551610');
    s.uint32(65).fixed64('18446744073709551615');
    const ss = protobuf.Writer.create().uint32(18).bytes(s.finish()).finish();
    const rs = protobuf.Writer.create()
      .uint32((1000 << 3) | 2)
      .bytes(ss)
      .finish();
    const body = protobuf.Writer.create().uint32(10).bytes(rs).finish();
    const got = decodeProtobufTraces(body, OPTS).spans[0];
    assert.equal(got?.name, 'big');
    assert.equal(got.startTimeUnixNano, 18446744073709551610n);
    assert.equal(got.endTimeUnixNano, 18446744073709551615n);
    assert.equal(got.serviceName, '');
  });

  it('non-UTF-8 names decode to replacement characters and still name an endpoint', () => {
    const s = protobuf.Writer.create();
    s.uint32(42).bytes(Uint8Array.from([0x47, 0x45, 0x54, 0x20, 0x2f, 0xff, 0xfe, 0xc3]));
    s.uint32(48).int32(2).uint32(57).fixed64(1).uint32(65).fixed64(2);
    const got = decodeProtobufTraces(wrap(s.finish()), OPTS).spans[0];
    assert.ok(got);
    assert.ok(got.name.startsWith('GET /'));
    const name = compileNaming()(got);
    assert.ok(name !== undefined && endpointNameProblem(name) === undefined, name);
  });

  it('huge attribute values are data: decoded whole, names cut to a valid length', () => {
    const huge = '/\n' + 'x'.repeat(1_000_000); // a control character, then 1 MB
    const w = protobuf.Writer.create();
    span(w, {
      name: 'GET',
      kind: 2,
      start: 1n,
      end: 2n,
      attrs: [['http.route', (v) => v.uint32(10).string(huge)]],
    });
    const got = decodeProtobufTraces(request(w, 'svc'), { attributeKeys: namingAttributeKeys() })
      .spans[0];
    assert.equal(got?.attributes.get('http.route')?.length, huge.length);
    const name = compileNaming()(got);
    assert.ok(name !== undefined && endpointNameProblem(name) === undefined);
    assert.equal(name.length, 512);
  });

  it('many distinct span names decode as many spans', () => {
    const w = protobuf.Writer.create();
    for (let i = 0; i < 20_000; i++)
      span(w, { name: `GET /item-${i}`, kind: 2, start: 1n, end: 2n });
    const d = decodeProtobufTraces(request(w, 'svc'), OPTS);
    assert.equal(new Set(d.spans.map((s) => s.name)).size, 20_000);
  });
});

describe('decodeJsonTraces', () => {
  it('decodes every field of the SDK JSON serialisation, the same as its protobuf', () => {
    const spans = sdkSpans();
    const fromJson = decodeJsonTraces(jsonOf(spans), OPTS);
    assertSdkSpans(fromJson, spans);
    const sorted = (d: DecodedTraces): ReceivedSpan[] =>
      [...d.spans].sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(sorted(fromJson), sorted(decodeProtobufTraces(protobufOf(spans), OPTS)));
  });

  it("decodes a document as the spec's examples write it (times as strings, hex ids)", () => {
    const d = decodeJsonTraces(JSON.stringify(specExample()), OPTS);
    assert.equal(d.rejected, 0);
    assert.deepEqual(d.spans, [
      {
        serviceName: 'my.service',
        name: 'I am a span!',
        kind: 'server',
        startTimeUnixNano: 1544712660000000000n,
        endTimeUnixNano: 1544712661000000000n,
        statusCode: 2,
        attributes: new Map([
          ['http.route', '/a/{b}'],
          ['n', '-7'],
          ['d', 'NaN'],
          ['b', 'false'],
        ]),
      },
    ]);
  });

  it('accepts times, intValue as JSON numbers and kind / status as enum names', () => {
    const doc = specExample();
    const s = firstSpan(doc);
    s['startTimeUnixNano'] = 1544712660000000000;
    s['endTimeUnixNano'] = 1544712661000000000;
    s['kind'] = 'SPAN_KIND_CLIENT';
    s['status'] = { code: 'STATUS_CODE_OK' };
    const got = decodeJsonTraces(JSON.stringify(doc), OPTS).spans[0];
    assert.equal(got?.startTimeUnixNano, 1544712660000000000n);
    assert.equal(got.endTimeUnixNano - got.startTimeUnixNano, 1_000_000_000n);
    assert.equal(got.kind, 'client');
    assert.equal(got.statusCode, 1);
  });

  it('accepts the older instrumentationLibrarySpans and null as absent', () => {
    const doc = specExample();
    const rs = (doc['resourceSpans'] as Record<string, unknown>[])[0];
    assert.ok(rs);
    rs['instrumentationLibrarySpans'] = rs['scopeSpans'];
    rs['scopeSpans'] = null;
    rs['resource'] = null;
    const d = decodeJsonTraces(JSON.stringify(doc), OPTS);
    assert.equal(d.spans.length, 1);
    assert.equal(d.spans[0]?.serviceName, '');
  });

  it('an envelope of the wrong type is undecodable, naming the path', () => {
    const cases: [unknown, string][] = [
      [[], '(document)'],
      [{ resourceSpans: {} }, 'resourceSpans'],
      [{ resourceSpans: [5] }, 'resourceSpans[0]'],
      [{ resourceSpans: [{ scopeSpans: 'x' }] }, 'resourceSpans[0].scopeSpans'],
      [
        { resourceSpans: [{ scopeSpans: [{ spans: {} }] }] },
        'resourceSpans[0].scopeSpans[0].spans',
      ],
      [{ resourceSpans: [{ resource: [] }] }, 'resourceSpans[0].resource'],
      [
        { resourceSpans: [{ resource: { attributes: [{ key: 1 }] } }] },
        'resourceSpans[0].resource.attributes[0]',
      ],
    ];
    for (const [doc, path] of cases) {
      const error = assertTyped(() => decodeJsonTraces(JSON.stringify(doc), OPTS), 'json');
      assert.equal((error.details as { path: string }).path, path, JSON.stringify(doc));
    }
    assertTyped(() => decodeJsonTraces('{"resourceSpans": [', OPTS), 'json');
    assertTyped(() => decodeJsonTraces('', OPTS), 'json');
  });

  it('a span with a field of the wrong type is rejected alone, with its reason', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ startTimeUnixNano: true }, 'startTimeUnixNano is not an unsigned 64-bit integer'],
      [{ endTimeUnixNano: '12.5' }, 'endTimeUnixNano is not an unsigned 64-bit integer'],
      [
        { endTimeUnixNano: '18446744073709551616' },
        'endTimeUnixNano is not an unsigned 64-bit integer',
      ],
      [{ startTimeUnixNano: -1 }, 'startTimeUnixNano is not an unsigned 64-bit integer'],
      [{ name: 5 }, 'name is not a string'],
      [{ kind: 'SERVER' }, 'kind is not a SpanKind'],
      [{ status: 2 }, 'status is not an object'],
      [{ attributes: {} }, 'attributes is not an array'],
      [{ attributes: [{ key: 'n', value: { intValue: 1.5 } }] }, 'attribute n: malformed value'],
      [{ attributes: [{ key: 'b', value: { boolValue: 'yes' } }] }, 'attribute b: malformed value'],
      [{ startTimeUnixNano: '0' }, 'missing start or end time'],
      [{ endTimeUnixNano: '1544712659000000000' }, 'end time before start time'],
    ];
    const doc = specExample();
    const good = firstSpan(doc);
    const spans = [good, ...bad.map(([patch]) => ({ ...good, ...patch })), 7];
    const ss = (doc['resourceSpans'] as { scopeSpans: { spans: unknown[] }[] }[])[0]?.scopeSpans[0];
    assert.ok(ss);
    ss.spans = spans;
    const d = decodeJsonTraces(JSON.stringify(doc), OPTS);
    assert.equal(d.spans.length, 1);
    assert.equal(d.rejected, bad.length + 1);
    for (const [, reason] of bad) assert.ok(d.rejectedReason.includes(reason), reason);
    assert.ok(d.rejectedReason.includes('1 span: span is not an object'));
  });

  it('unwanted attributes are not even looked at (a malformed one does not reject)', () => {
    const doc = specExample();
    firstSpan(doc)['attributes'] = [{ key: 'other', value: { intValue: 'x' } }];
    assert.equal(decodeJsonTraces(JSON.stringify(doc), OPTS).spans.length, 1);
  });

  it('never throws anything but OtlpDecodeError on mangled documents', () => {
    const text = jsonOf(sdkSpans());
    for (let n = 0; n < text.length; n += 3) {
      for (const mangled of [text.slice(0, n), text.slice(0, n) + 'true' + text.slice(n + 4)]) {
        try {
          decodeJsonTraces(mangled, OPTS);
        } catch (error) {
          assert.ok(error instanceof JitError && error instanceof OtlpDecodeError, String(error));
        }
      }
    }
  });
});

// --- builders -----------------------------------------------------------------------------------

type ValueWriter = (w: protobuf.Writer) => protobuf.Writer;
interface SpanSpec {
  name: string;
  kind?: number;
  start: bigint;
  end: bigint;
  attrs?: [string, ValueWriter][];
}

/** Appends `spans` field entries (ScopeSpans.spans = 2) to a ScopeSpans writer. */
function span(w: protobuf.Writer, s: SpanSpec): void {
  const b = protobuf.Writer.create();
  b.uint32(42).string(s.name);
  if (s.kind !== undefined) b.uint32(48).int32(s.kind);
  if (s.start !== 0n) b.uint32(57).fixed64(s.start.toString());
  if (s.end !== 0n) b.uint32(65).fixed64(s.end.toString());
  for (const [key, value] of s.attrs ?? []) {
    const v = value(protobuf.Writer.create()).finish();
    b.uint32(74).bytes(
      protobuf.Writer.create().uint32(10).string(key).uint32(18).bytes(v).finish(),
    );
  }
  w.uint32(18).bytes(b.finish());
}

/** A request of one ResourceSpans (with service.name when given) holding the ScopeSpans in `w`. */
function request(w: protobuf.Writer, service?: string): Uint8Array {
  const rs = protobuf.Writer.create();
  if (service !== undefined) {
    const value = protobuf.Writer.create().uint32(10).string(service).finish();
    const kv = protobuf.Writer.create().uint32(10).string('service.name').uint32(18).bytes(value);
    rs.uint32(10).bytes(protobuf.Writer.create().uint32(10).bytes(kv.finish()).finish());
  }
  rs.uint32(18).bytes(w.finish());
  return protobuf.Writer.create().uint32(10).bytes(rs.finish()).finish();
}

/** A request around one encoded Span. */
function wrap(spanBytes: Uint8Array): Uint8Array {
  const ss = protobuf.Writer.create().uint32(18).bytes(spanBytes);
  return request(ss);
}

/** The shape of the spec's OTLP/JSON example (examples/trace.json), values our own. */
function specExample(): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: 'my.service' } }],
        },
        scopeSpans: [
          {
            scope: { name: 'my.library', version: '1.0.0', attributes: [] },
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: 'eee19b7ec3c1b174',
                parentSpanId: 'eee19b7ec3c1b173',
                name: 'I am a span!',
                startTimeUnixNano: '1544712660000000000',
                endTimeUnixNano: '1544712661000000000',
                kind: 2,
                status: { code: 2, message: 'failed' },
                attributes: [
                  { key: 'http.route', value: { stringValue: '/a/{b}' } },
                  { key: 'n', value: { intValue: '-7' } },
                  { key: 'd', value: { doubleValue: 'NaN' } },
                  { key: 'b', value: { boolValue: false } },
                  { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'x' }] } } },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

function firstSpan(doc: Record<string, unknown>): Record<string, unknown> {
  const s = (doc['resourceSpans'] as { scopeSpans: { spans: Record<string, unknown>[] }[] }[])[0]
    ?.scopeSpans[0]?.spans[0];
  assert.ok(s);
  return s;
}

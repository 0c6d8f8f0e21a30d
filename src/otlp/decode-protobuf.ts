// Decodes an OTLP ExportTraceServiceRequest in protobuf into ReceivedSpans, reading only what they need.
import protobuf from 'protobufjs/minimal.js';
import { OtlpDecodeError } from '../core/errors.ts';
import {
  addResourceAttributes,
  kindFromNumber,
  SpanTally,
  statusFromNumber,
  timesProblem,
} from './decode-common.ts';
import type {
  DecodedTraces,
  DecodeOptions,
  ReceivedSpan,
  SpanKind,
  SpanStatusCode,
} from './types.ts';

type Reader = protobuf.Reader;

// Field numbers and wire types from opentelemetry-proto (trace/v1, common/v1, resource/v1),
// written as whole tags ((field << 3) | wire type) so one comparison picks a field. A known field
// with another wire type is skipped like an unknown one.
const LEN = 2;
const tag = (field: number, wire: number): number => (field << 3) | wire;
const REQUEST_RESOURCE_SPANS = tag(1, LEN);
const RESOURCE_SPANS_RESOURCE = tag(1, LEN);
const RESOURCE_SPANS_SCOPE_SPANS = tag(2, LEN);
// Deprecated `instrumentation_library_spans` (field 1000), same layout as ScopeSpans: old senders.
const RESOURCE_SPANS_LIBRARY_SPANS = tag(1000, LEN);
const RESOURCE_ATTRIBUTES = tag(1, LEN);
const SCOPE_SPANS_SPANS = tag(2, LEN);
const SPAN_NAME = tag(5, LEN);
const SPAN_KIND = tag(6, 0);
const SPAN_START = tag(7, 1);
const SPAN_END = tag(8, 1);
const SPAN_ATTRIBUTES = tag(9, LEN);
const SPAN_STATUS = tag(15, LEN);
const STATUS_CODE = tag(3, 0);
const KEY_VALUE_KEY = tag(1, LEN);
const KEY_VALUE_VALUE = tag(2, LEN);
const ANY_STRING = tag(1, LEN);
const ANY_BOOL = tag(2, 0);
const ANY_INT = tag(3, 0);
const ANY_DOUBLE = tag(4, 1);

const SERVICE_NAME = 'service.name';

/**
 * Decodes a protobuf `ExportTraceServiceRequest`. Spans without usable times are counted in
 * `rejected`; a body that is not a well-formed request (truncated, a length past its message, a
 * bad wire type) throws {@link OtlpDecodeError} and yields nothing.
 */
export function decodeProtobufTraces(body: Uint8Array, opts: DecodeOptions): DecodedTraces {
  const r = protobuf.Reader.create(body);
  const tally = new SpanTally();
  try {
    while (r.pos < r.len) {
      const t = readTag(r, r.len);
      if (t === REQUEST_RESOURCE_SPANS) readResourceSpans(r, opts, tally);
      else skip(r, t, r.len);
    }
  } catch (error) {
    if (error instanceof OtlpDecodeError) throw error;
    // protobufjs throws RangeError / Error on reads past the end or bad wire types.
    throw new OtlpDecodeError('protobuf', `byte ${r.pos}`, (error as Error).message);
  }
  return tally.result();
}

/** A tag; field number 0 never occurs in a valid message. */
function readTag(r: Reader, end: number): number {
  const t = r.uint32();
  checkWithin(r, end);
  if (t >>> 3 === 0) throw new OtlpDecodeError('protobuf', `byte ${r.pos}`, 'field number 0');
  return t;
}

/** protobufjs reads varints without checking the buffer's end; a message's bytes end earlier. */
function checkWithin(r: Reader, end: number): void {
  if (r.pos > end) throw new OtlpDecodeError('protobuf', `byte ${end}`, 'truncated');
}

/** Reads a length prefix and returns where the embedded message ends (within `end`). */
function messageEnd(r: Reader, end: number): number {
  const len = r.uint32();
  checkWithin(r, end);
  const e = r.pos + len;
  if (e > end)
    throw new OtlpDecodeError('protobuf', `byte ${r.pos}`, 'length past the end of its message');
  return e;
}

function skip(r: Reader, t: number, end: number): void {
  r.skipType(t & 7);
  checkWithin(r, end);
}

/** Spans of one ResourceSpans before the resource is applied (the resource may come last). */
interface PendingSpan {
  name: string;
  kind: SpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  statusCode: SpanStatusCode;
  attributes: Map<string, string>;
}

function readResourceSpans(r: Reader, opts: DecodeOptions, tally: SpanTally): void {
  const end = messageEnd(r, r.len);
  const pending: PendingSpan[] = [];
  let resource: Map<string, string> | undefined;
  while (r.pos < end) {
    const t = readTag(r, end);
    if (t === RESOURCE_SPANS_RESOURCE) resource = readResource(r, end, opts);
    else if (t === RESOURCE_SPANS_SCOPE_SPANS || t === RESOURCE_SPANS_LIBRARY_SPANS)
      readScopeSpans(r, end, opts, pending, tally);
    else skip(r, t, end);
  }
  if (r.pos !== end)
    throw new OtlpDecodeError('protobuf', `byte ${r.pos}`, 'field past its message');
  const serviceName = resource?.get(SERVICE_NAME) ?? '';
  for (const p of pending) {
    if (resource) addResourceAttributes(p.attributes, resource, opts.attributeKeys);
    const span: ReceivedSpan = { serviceName, ...p };
    tally.spans.push(span);
  }
}

function readResource(r: Reader, limit: number, opts: DecodeOptions): Map<string, string> {
  const end = messageEnd(r, limit);
  const attrs = new Map<string, string>();
  while (r.pos < end) {
    const t = readTag(r, end);
    if (t === RESOURCE_ATTRIBUTES) readKeyValue(r, end, opts.attributeKeys, attrs, true);
    else skip(r, t, end);
  }
  return attrs;
}

function readScopeSpans(
  r: Reader,
  limit: number,
  opts: DecodeOptions,
  pending: PendingSpan[],
  tally: SpanTally,
): void {
  const end = messageEnd(r, limit);
  while (r.pos < end) {
    const t = readTag(r, end);
    if (t === SCOPE_SPANS_SPANS) {
      const span = readSpan(r, end, opts);
      const problem = timesProblem(span.startTimeUnixNano, span.endTimeUnixNano);
      if (problem === undefined) pending.push(span);
      else tally.reject(problem);
    } else skip(r, t, end);
  }
}

function readSpan(r: Reader, limit: number, opts: DecodeOptions): PendingSpan {
  const end = messageEnd(r, limit);
  const span: PendingSpan = {
    name: '',
    kind: 'unspecified',
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    statusCode: 0,
    attributes: new Map(),
  };
  while (r.pos < end) {
    const t = readTag(r, end);
    switch (t) {
      case SPAN_NAME:
        span.name = readString(r, end);
        break;
      case SPAN_KIND:
        span.kind = kindFromNumber(r.int32());
        checkWithin(r, end);
        break;
      case SPAN_START:
        span.startTimeUnixNano = readFixed64(r, end);
        break;
      case SPAN_END:
        span.endTimeUnixNano = readFixed64(r, end);
        break;
      case SPAN_ATTRIBUTES:
        readKeyValue(r, end, opts.attributeKeys, span.attributes, false);
        break;
      case SPAN_STATUS:
        span.statusCode = readStatus(r, end);
        break;
      default:
        skip(r, t, end);
    }
  }
  return span;
}

function readString(r: Reader, end: number): string {
  const s = r.string();
  checkWithin(r, end);
  return s;
}

/** Two little-endian uint32 halves: exact for every fixed64, unlike a number. */
function readFixed64(r: Reader, end: number): bigint {
  const lo = r.fixed32();
  const hi = r.fixed32();
  checkWithin(r, end);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function readStatus(r: Reader, limit: number): SpanStatusCode {
  const end = messageEnd(r, limit);
  let code = 0;
  while (r.pos < end) {
    const t = readTag(r, end);
    if (t === STATUS_CODE) {
      code = r.int32();
      checkWithin(r, end);
    } else skip(r, t, end);
  }
  return statusFromNumber(code);
}

/**
 * One KeyValue: the value is decoded only when the key is wanted (its bytes are remembered and
 * read after the key, whatever their order). `withServiceName` also keeps `service.name`.
 */
function readKeyValue(
  r: Reader,
  limit: number,
  wanted: ReadonlySet<string>,
  into: Map<string, string>,
  withServiceName: boolean,
): void {
  const end = messageEnd(r, limit);
  let key: string | undefined;
  let valueStart = -1;
  let valueEnd = -1;
  while (r.pos < end) {
    const t = readTag(r, end);
    if (t === KEY_VALUE_KEY) key = readString(r, end);
    else if (t === KEY_VALUE_VALUE) {
      valueEnd = messageEnd(r, end);
      valueStart = r.pos;
      r.pos = valueEnd;
    } else skip(r, t, end);
  }
  if (key === undefined || valueStart < 0) return;
  if (!wanted.has(key) && !(withServiceName && key === SERVICE_NAME)) return;
  // A repeated key (invalid OTLP): the last one wins, as protobuf's map semantics would have it.
  const after = r.pos;
  r.pos = valueStart;
  const value = readAnyValue(r, valueEnd);
  r.pos = after;
  if (value === undefined) into.delete(key);
  else into.set(key, value);
}

/** A scalar AnyValue as a string; arrays, key-value lists, bytes and empty values give undefined. */
function readAnyValue(r: Reader, end: number): string | undefined {
  let value: string | undefined;
  while (r.pos < end) {
    const t = readTag(r, end);
    switch (t) {
      case ANY_STRING:
        value = readString(r, end);
        break;
      case ANY_BOOL:
        value = r.bool() ? 'true' : 'false';
        break;
      case ANY_INT:
        value = int64String(r.int64());
        break;
      case ANY_DOUBLE:
        value = String(r.double());
        break;
      default:
        value = undefined;
        skip(r, t, end);
        continue;
    }
    checkWithin(r, end);
  }
  return value;
}

/** A Long's two halves (or a number when protobufjs runs without `long`) as signed decimal. */
function int64String(v: protobuf.Long | number): string {
  if (typeof v === 'number') return String(v);
  return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)).toString();
}

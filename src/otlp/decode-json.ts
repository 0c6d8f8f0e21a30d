// Decodes an OTLP/JSON ExportTraceServiceRequest into ReceivedSpans, with a predictable rule for wrong types.
import { OtlpDecodeError } from '../core/errors.ts';
import {
  addResourceAttributes,
  kindFromNumber,
  MAX_UINT64,
  SPAN_KINDS,
  SpanTally,
  statusFromNumber,
  timesProblem,
} from './decode-common.ts';
import type { DecodedTraces, DecodeOptions, SpanKind, SpanStatusCode } from './types.ts';

/*
 * The rule for wrong types (docs/otlp.md):
 * - the envelope — the document, `resourceSpans`, each ResourceSpans, its `resource` and
 *   resource `attributes`, `scopeSpans` (or the older `instrumentationLibrarySpans`), each of
 *   them and its `spans` array — with a wrong type makes the whole request undecodable
 *   (OtlpDecodeError naming the path, 400): nothing in it can be trusted to be a span list;
 * - anything wrong inside one span object (a field of the wrong type, an unparsable time, a
 *   malformed attribute) rejects that span only, counted in `rejected` with the reason.
 * `null` counts as absent everywhere, as the protobuf JSON mapping says.
 */

const SERVICE_NAME = 'service.name';

/** Raised inside one span; turned into a rejection, never seen outside this module. */
class SpanProblem extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Decodes an OTLP/JSON export request. Times may be decimal strings (as the spec writes them) or
 * JSON numbers (the protobuf JSON mapping accepts both; a number above 2^53 has already lost
 * precision in JSON.parse, i.e. ~256 ns today — harmless for latencies).
 */
export function decodeJsonTraces(text: string, opts: DecodeOptions): DecodedTraces {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new OtlpDecodeError('json', '(document)', (error as Error).message);
  }
  const tally = new SpanTally();
  if (!isObject(doc)) throw envelope('(document)', 'not an object');
  const resourceSpans = arrayAt(doc, 'resourceSpans', 'resourceSpans');
  resourceSpans.forEach((rs, i) => {
    const path = `resourceSpans[${i}]`;
    if (!isObject(rs)) throw envelope(path, 'not an object');
    const resourceAttrs = readResource(rs, path, opts.attributeKeys);
    const serviceName = resourceAttrs.get(SERVICE_NAME) ?? '';
    for (const field of ['scopeSpans', 'instrumentationLibrarySpans']) {
      arrayAt(rs, field, `${path}.${field}`).forEach((ss, j) => {
        const ssPath = `${path}.${field}[${j}]`;
        if (!isObject(ss)) throw envelope(ssPath, 'not an object');
        arrayAt(ss, 'spans', `${ssPath}.spans`).forEach((span) => {
          try {
            const s = readSpan(span, opts.attributeKeys);
            addResourceAttributes(s.attributes, resourceAttrs, opts.attributeKeys);
            const problem = timesProblem(s.startTimeUnixNano, s.endTimeUnixNano);
            if (problem === undefined) tally.spans.push({ serviceName, ...s });
            else tally.reject(problem);
          } catch (error) {
            if (!(error instanceof SpanProblem)) throw error;
            tally.reject(error.reason);
          }
        });
      });
    }
  });
  return tally.result();
}

function envelope(path: string, reason: string): OtlpDecodeError {
  return new OtlpDecodeError('json', path, reason);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An array field of the envelope: absent or null is empty, anything else but an array is 400. */
function arrayAt(obj: Record<string, unknown>, key: string, path: string): unknown[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw envelope(path, 'not an array');
  return v;
}

function readResource(
  rs: Record<string, unknown>,
  path: string,
  wanted: ReadonlySet<string>,
): Map<string, string> {
  const out = new Map<string, string>();
  const resource = rs['resource'];
  if (resource === undefined || resource === null) return out;
  if (!isObject(resource)) throw envelope(`${path}.resource`, 'not an object');
  const attrs = arrayAt(resource, 'attributes', `${path}.resource.attributes`);
  attrs.forEach((kv, i) => {
    try {
      readKeyValue(kv, wanted, out, true);
    } catch (error) {
      if (!(error instanceof SpanProblem)) throw error;
      throw envelope(`${path}.resource.attributes[${i}]`, error.reason);
    }
  });
  return out;
}

interface PendingSpan {
  name: string;
  kind: SpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  statusCode: SpanStatusCode;
  attributes: Map<string, string>;
}

function readSpan(span: unknown, wanted: ReadonlySet<string>): PendingSpan {
  if (!isObject(span)) throw new SpanProblem('span is not an object');
  const name = span['name'] ?? '';
  if (typeof name !== 'string') throw new SpanProblem('name is not a string');
  const attributes = new Map<string, string>();
  const attrs = span['attributes'] ?? [];
  if (!Array.isArray(attrs)) throw new SpanProblem('attributes is not an array');
  for (const kv of attrs) readKeyValue(kv, wanted, attributes, false);
  return {
    name,
    kind: readKind(span['kind']),
    startTimeUnixNano: readTime(span['startTimeUnixNano'], 'startTimeUnixNano'),
    endTimeUnixNano: readTime(span['endTimeUnixNano'], 'endTimeUnixNano'),
    statusCode: readStatus(span['status']),
    attributes,
  };
}

/** fixed64 as a decimal string or a JSON number; absent or null is 0 (then rejected as missing). */
function readTime(v: unknown, field: string): bigint {
  if (v === undefined || v === null) return 0n;
  let t: bigint;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) t = BigInt(v);
  else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) t = BigInt(v);
  else throw new SpanProblem(`${field} is not an unsigned 64-bit integer`);
  if (t > MAX_UINT64) throw new SpanProblem(`${field} is not an unsigned 64-bit integer`);
  return t;
}

const KIND_NAMES = new Map(SPAN_KINDS.map((k) => [`SPAN_KIND_${k.toUpperCase()}`, k]));

/** An integer as the spec writes it, or the enum's name as the protobuf JSON mapping allows. */
function readKind(v: unknown): SpanKind {
  if (v === undefined || v === null) return 'unspecified';
  if (typeof v === 'number' && Number.isInteger(v)) return kindFromNumber(v);
  if (typeof v === 'string') {
    const k = KIND_NAMES.get(v);
    if (k !== undefined) return k;
  }
  throw new SpanProblem('kind is not a SpanKind');
}

const STATUS_NAMES = new Map<string, SpanStatusCode>([
  ['STATUS_CODE_UNSET', 0],
  ['STATUS_CODE_OK', 1],
  ['STATUS_CODE_ERROR', 2],
]);

function readStatus(v: unknown): SpanStatusCode {
  if (v === undefined || v === null) return 0;
  if (!isObject(v)) throw new SpanProblem('status is not an object');
  const code = v['code'];
  if (code === undefined || code === null) return 0;
  if (typeof code === 'number' && Number.isInteger(code)) return statusFromNumber(code);
  if (typeof code === 'string') {
    const c = STATUS_NAMES.get(code);
    if (c !== undefined) return c;
  }
  throw new SpanProblem('status.code is not a StatusCode');
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * One `{key, value}`; only wanted keys have their value checked and kept. A scalar value becomes
 * a string; array, kvlist and bytes values (and an empty value) are left out, as in protobuf.
 */
function readKeyValue(
  kv: unknown,
  wanted: ReadonlySet<string>,
  into: Map<string, string>,
  withServiceName: boolean,
): void {
  if (!isObject(kv)) throw new SpanProblem('attribute is not an object');
  const key = kv['key'];
  if (typeof key !== 'string') throw new SpanProblem('attribute key is not a string');
  if (!wanted.has(key) && !(withServiceName && key === SERVICE_NAME)) return;
  const value = kv['value'];
  if (value === undefined || value === null) {
    into.delete(key);
    return;
  }
  if (!isObject(value)) throw new SpanProblem(`attribute ${key}: value is not an object`);
  const s = scalar(value, key);
  if (s === undefined) into.delete(key);
  else into.set(key, s);
}

function scalar(value: Record<string, unknown>, key: string): string | undefined {
  const bad = (): SpanProblem => new SpanProblem(`attribute ${key}: malformed value`);
  const str = value['stringValue'];
  if (str !== undefined && str !== null) {
    if (typeof str !== 'string') throw bad();
    return str;
  }
  const bool = value['boolValue'];
  if (bool !== undefined && bool !== null) {
    if (typeof bool !== 'boolean') throw bad();
    return bool ? 'true' : 'false';
  }
  const int = value['intValue'];
  if (int !== undefined && int !== null) {
    let n: bigint;
    if (typeof int === 'string' && /^-?\d{1,20}$/.test(int)) n = BigInt(int);
    else if (typeof int === 'number' && Number.isInteger(int)) n = BigInt(int);
    else throw bad();
    if (n < INT64_MIN || n > INT64_MAX) throw bad();
    return n.toString();
  }
  const dbl = value['doubleValue'];
  if (dbl !== undefined && dbl !== null) {
    // The protobuf JSON mapping writes the non-finite doubles as these strings.
    if (typeof dbl === 'number') return String(dbl);
    if (dbl === 'NaN' || dbl === 'Infinity' || dbl === '-Infinity') return dbl;
    throw bad();
  }
  return undefined;
}

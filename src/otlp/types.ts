// What the OTLP receiver hands on: spans reduced to what endpoint naming and the windows need.

/** A span's kind, as OTLP numbers it (SPAN_KIND_UNSPECIFIED = 0 … CONSUMER = 5). */
export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** A span's status code, as OTLP numbers it: 0 unset, 1 ok, 2 error. */
export type SpanStatusCode = 0 | 1 | 2;

/** One decoded span: the fields naming and the windows use, nothing else. */
export interface ReceivedSpan {
  /** The resource's `service.name` ('' when the resource has none). */
  serviceName: string;
  /** The span's name. */
  name: string;
  kind: SpanKind;
  /** Start and end, in ns since the epoch (OTLP fixed64). */
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  statusCode: SpanStatusCode;
  /**
   * The span's attributes (then the resource's, for keys the span lacks) whose keys were asked
   * for (`DecodeOptions.attributeKeys`), with scalar values as strings (ints in decimal, booleans
   * as true/false); array and key-value-list values are left out.
   */
  attributes: ReadonlyMap<string, string>;
}

export interface DecodeOptions {
  /** Attribute keys to keep on each span (naming needs a handful; the rest is never copied). */
  attributeKeys: ReadonlySet<string>;
}

/** A decoded export request: its usable spans and how many spans it held that were not usable. */
export interface DecodedTraces {
  spans: ReceivedSpan[];
  /** Spans present but unusable (e.g. end before start, missing times): OTLP `rejectedSpans`. */
  rejected: number;
  /** Why spans were rejected, for `partialSuccess.errorMessage` ('' when none were). */
  rejectedReason: string;
}

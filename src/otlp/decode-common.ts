// What both OTLP decoders share: enum mapping, the usable-span check, the rejection tally.
import type { ReceivedSpan, SpanKind, SpanStatusCode, DecodedTraces } from './types.ts';

/** OTLP's SpanKind numbers (0 … 5) in order. */
export const SPAN_KINDS: readonly SpanKind[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];

/** A kind number as sent; a number past CONSUMER (a newer proto) counts as unspecified. */
export function kindFromNumber(n: number): SpanKind {
  return SPAN_KINDS[n] ?? 'unspecified';
}

/** A status code as sent; an unknown number (a newer proto) counts as unset. */
export function statusFromNumber(n: number): SpanStatusCode {
  return n === 1 || n === 2 ? n : 0;
}

/** Largest fixed64. */
export const MAX_UINT64 = (1n << 64n) - 1n;

/** Why a span cannot be used for latencies, or undefined when it can. */
export function timesProblem(start: bigint, end: bigint): string | undefined {
  if (start === 0n || end === 0n) return 'missing start or end time';
  if (end < start) return 'end time before start time';
  return undefined;
}

/**
 * Fills in a span's attributes from its resource's for the keys the span lacks (span values
 * win); `service.name` only when it was asked for, as it is already `ReceivedSpan.serviceName`.
 */
export function addResourceAttributes(
  span: Map<string, string>,
  resource: ReadonlyMap<string, string>,
  wanted: ReadonlySet<string>,
): void {
  for (const [k, v] of resource)
    if ((k !== 'service.name' || wanted.has(k)) && !span.has(k)) span.set(k, v);
}

/** Collects usable spans and counts the others, keeping the first reason of each kind. */
export class SpanTally {
  readonly spans: ReceivedSpan[] = [];
  rejected = 0;
  private readonly reasons = new Map<string, number>();

  reject(reason: string): void {
    this.rejected++;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  result(): DecodedTraces {
    // One line for partialSuccess.errorMessage: "2 spans: end time before start time; 1 span: …"
    const parts: string[] = [];
    for (const [reason, n] of this.reasons) parts.push(`${n} span${n === 1 ? '' : 's'}: ${reason}`);
    return { spans: this.spans, rejected: this.rejected, rejectedReason: parts.join('; ') };
  }
}

// Ingest: an OTLP export's body → decoded spans → endpoint names → discovery → durable window entries.
import { endpointNameProblem } from '../core/endpoint-name.ts';
import type { SpanWindows, WindowEntry } from '../store/span-window-types.ts';
import type { Discovery } from '../broker/discovery.ts';
import type { DecodedTraces, DecodeOptions, ReceivedSpan } from './types.ts';

/** How an export's body is encoded (from its Content-Type). */
export type OtlpEncoding = 'protobuf' | 'json';

export interface IngestOptions {
  windows: SpanWindows;
  discovery: Discovery;
  /** The decoders; each throws a 400 JitError (OTLP_UNDECODABLE) for a body it cannot read. */
  decode: Record<OtlpEncoding, (body: Uint8Array, opts: DecodeOptions) => DecodedTraces>;
  /** The endpoint a span is a call of (the naming rules), or undefined when it names none. */
  name: (span: ReceivedSpan) => string | undefined;
  /** Attribute keys the naming rules read (the decoders copy no other). */
  attributeKeys: ReadonlySet<string>;
  /** Spans that started longer ago than this are rejected: the windows would not keep them (ms). */
  maxAgeMs: number;
  /** Spans that start further ahead than this are rejected (a wrong clock), as the windows do (ms). Default 3600000. */
  maxFutureMs?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** What became of an export's spans: OTLP's `partialSuccess`, plus what was kept. */
export interface IngestResult {
  /** Spans kept in the windows. */
  accepted: number;
  /** Spans not kept (`partialSuccess.rejectedSpans`). */
  rejected: number;
  /** Why, in English ('' when none were rejected): `partialSuccess.errorMessage`. */
  errorMessage: string;
  /** Spans the naming rules name no endpoint for (accepted, not kept). */
  ignored: number;
  /** Endpoints this export added to the list. */
  discovered: string[];
}

/** Longest `errorMessage`: it goes back to the exporter, which logs it. */
const MAX_MESSAGE_CHARS = 1024;
/** Names quoted per reason in `errorMessage`. */
const NAMES_PER_REASON = 3;

/** Rejected spans grouped by reason, with a few of the endpoint names for each. */
class Rejections {
  private readonly reasons = new Map<string, { count: number; names: string[] }>();
  total = 0;

  add(reason: string, count = 1, name?: string): void {
    if (count <= 0) return;
    this.total += count;
    let r = this.reasons.get(reason);
    if (!r) this.reasons.set(reason, (r = { count: 0, names: [] }));
    r.count += count;
    if (name !== undefined && r.names.length < NAMES_PER_REASON && !r.names.includes(name))
      r.names.push(name);
  }

  message(): string {
    const parts = [...this.reasons].map(
      ([reason, { count, names }]) =>
        `${count} span${count === 1 ? '' : 's'}: ${reason}` +
        (names.length > 0
          ? ` (${names.map((n) => JSON.stringify(n.slice(0, 80))).join(', ')})`
          : ''),
    );
    const text = parts.join('; ');
    return text.length <= MAX_MESSAGE_CHARS ? text : `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
  }
}

/**
 * Turns one export into window entries: decodes it (an undecodable body throws and keeps
 * nothing), names each span, lets discovery admit the names, and appends the entries of admitted
 * endpoints to the windows, answering once they are durable. Span attributes are only ever
 * compared and copied as strings into names, which are validated like every endpoint name.
 */
export class Ingest {
  private readonly decodeOptions: DecodeOptions;

  constructor(private readonly opts: IngestOptions) {
    this.decodeOptions = { attributeKeys: opts.attributeKeys };
  }

  async ingest(body: Uint8Array, encoding: OtlpEncoding): Promise<IngestResult> {
    const decoded = this.opts.decode[encoding](body, this.decodeOptions);
    const rejections = new Rejections();
    rejections.add(decoded.rejectedReason || 'unusable span', decoded.rejected);
    const named: { name: string; span: ReceivedSpan }[] = [];
    let ignored = 0;
    for (const span of decoded.spans) {
      const name = this.opts.name(span);
      if (name === undefined) {
        // Not a call of an endpoint (an INTERNAL span, say): accepted and not kept, as the
        // spec's receivers may drop what they do not use; rejecting them would make every
        // SDK log a warning per batch.
        ignored++;
        continue;
      }
      const problem = endpointNameProblem(name);
      if (problem !== undefined) {
        rejections.add(`its endpoint name is ${problem}`, 1, name);
        continue;
      }
      if (span.endTimeUnixNano <= span.startTimeUnixNano) {
        rejections.add('it ends when it starts (no duration)', 1, name);
        continue;
      }
      named.push({ name, span });
    }
    // The windows drop spans outside their time range without a word; saying so here makes the
    // exporter's partialSuccess tell the truth about them.
    const now = (this.opts.now ?? Date.now)();
    const oldest = now - this.opts.maxAgeMs;
    const newest = now + (this.opts.maxFutureMs ?? 3_600_000);
    const inRange = named.filter(({ name, span }) => {
      const startMs = Number(span.startTimeUnixNano) / 1e6;
      if (startMs < oldest)
        rejections.add('it started before the window (--otlp-window-hours)', 1, name);
      else if (startMs > newest)
        rejections.add('it starts more than an hour from now (check the clock)', 1, name);
      else return true;
      return false;
    });
    const admission = this.opts.discovery.admit(inRange.map((n) => n.name));
    const entries: WindowEntry[] = [];
    for (const { name, span } of inRange) {
      const refusal = admission.refused.get(name);
      if (refusal !== undefined) {
        rejections.add(`its endpoint is not discovered: ${refusal}`, 1, name);
        continue;
      }
      entries.push({
        endpoint: name,
        // ns → ms as floats: a duration keeps its sub-millisecond part.
        startMs: Number(span.startTimeUnixNano) / 1e6,
        durationMs: Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6,
        failed: span.statusCode === 2,
      });
    }
    // Endpoints join the list only once their spans are durable: a failed export adds nothing.
    try {
      if (entries.length > 0) await this.opts.windows.append(entries);
    } catch (err) {
      this.opts.discovery.settle(admission, false);
      throw err;
    }
    const discovered = this.opts.discovery.settle(admission, true);
    return {
      accepted: entries.length,
      rejected: rejections.total,
      errorMessage: rejections.message(),
      ignored,
      discovered,
    };
  }
}

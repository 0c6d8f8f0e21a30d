// Reads recorded requests (CSV or JSON lines: timestamp_ns, endpoint, duration_ns) into per-endpoint series.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidBodyError, InvalidInputFileError } from '../core/errors.ts';
import type { EndpointSeries } from './replay.ts';

/** `1674981729496223142` (ns) → epoch ms, without losing precision to a 64-bit float first. */
export function nsToMs(ns: string): number {
  const s = ns.trim();
  if (!/^\d+$/.test(s)) return Number(s) / 1e6;
  return s.length <= 6 ? Number(s) / 1e6 : Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6;
}

/** What the input says: CSV lines with a header, or JSON objects one per line. */
export type InputFormat = 'csv' | 'jsonl';

/** Column indices of a CSV input, from its header (`ts` is -1 when there is no timestamp_ns). */
export interface CsvColumns {
  ts: number;
  endpoint: number;
  duration: number;
}

/** One input line read: a record (timestamp NaN when the line has none), or why it is not one. */
export type ParsedLine =
  | { ok: true; endpoint: string; durationMs: number; timestampMs: number }
  | { ok: false; reason: string };

/** The columns a CSV header line names, or undefined when it names no `endpoint` and `duration_ns`. */
export function csvHeader(line: string): CsvColumns | undefined {
  const header = splitCsv(line).map((c) => c.trim().toLowerCase());
  if (!header.includes('endpoint') || !header.includes('duration_ns')) return undefined;
  return {
    ts: header.indexOf('timestamp_ns'),
    endpoint: header.indexOf('endpoint'),
    duration: header.indexOf('duration_ns'),
  };
}

/** Reads one CSV data line with the header's columns. */
export function parseCsvLine(line: string, cols: CsvColumns): ParsedLine {
  const cells = splitCsv(line);
  return parseCells(
    cols.ts >= 0 ? cells[cols.ts] : undefined,
    cells[cols.endpoint],
    cells[cols.duration],
  );
}

/** Reads one JSON line: an object with `endpoint`, `duration_ns` and, optionally, `timestamp_ns`. */
export function parseJsonLine(line: string): ParsedLine {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'invalid JSON' };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const o = obj as Record<string, unknown>;
  const missing = ['endpoint', 'duration_ns'].filter((k) => !(k in o));
  if (missing.length > 0) {
    const has = Object.keys(o).slice(0, 6).join(', ') || 'none';
    return {
      ok: false,
      reason: `JSON object without ${missing.map((k) => `"${k}"`).join(' and ')} (its keys: ${has})`,
    };
  }
  if (typeof o.endpoint !== 'string') return { ok: false, reason: '"endpoint" is not a string' };
  return parseCells(
    o.timestamp_ns === undefined || o.timestamp_ns === null ? undefined : cellText(o.timestamp_ns),
    o.endpoint,
    cellText(o.duration_ns),
  );
}

/** The record of three cells; an absent or empty timestamp is allowed (recompute by count). */
function parseCells(
  tsText: string | undefined,
  endpoint: string | undefined,
  durText: string | undefined,
): ParsedLine {
  if (!endpoint) return { ok: false, reason: 'no endpoint' };
  const durationMs = durText === undefined || durText.trim() === '' ? Number.NaN : nsToMs(durText);
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    return {
      ok: false,
      reason: `duration_ns ${quote(durText)} is not a non-negative number of nanoseconds`,
    };
  }
  let timestampMs = Number.NaN;
  if (tsText !== undefined && tsText.trim() !== '') {
    timestampMs = nsToMs(tsText);
    // A date string (e.g. ISO 8601) would silently switch the replay to counting requests.
    if (!Number.isFinite(timestampMs)) {
      return { ok: false, reason: `timestamp_ns ${quote(tsText)} is not a number of nanoseconds` };
    }
  }
  return { ok: true, endpoint, durationMs, timestampMs };
}

function quote(text: string | undefined): string {
  if (text === undefined) return '(missing)';
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** A line trimmed, without the byte-order mark some editors put before the first one. */
function clean(raw: string, lineNo: number): string {
  return (lineNo === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw).trim();
}

/** Lines that carry nothing: blank, or `#` comments. */
function isNoise(line: string): boolean {
  return line === '' || line.startsWith('#');
}

/** The format and columns of an input file, as checked before a run. */
export interface InputShape {
  format: InputFormat;
  /** For CSV: the header's columns. */
  columns: CsvColumns | undefined;
  /** The first record has a timestamp (else the replay recomputes every k requests). */
  timestamps: boolean;
}

const EXPECTED =
  'expected a CSV whose first line is the header "timestamp_ns,endpoint,duration_ns" or JSON lines with those keys';

/**
 * Checks an input file before a run: its format, the CSV header (or the first JSON line's keys)
 * and the first record's values. A file that fails is refused with one line naming the line and
 * the problem (`InvalidInputFileError`); lines after the first record that cannot be read are
 * skipped and counted by `readRecords` instead (a long export may hold a few broken lines).
 */
export async function inspectInput(path: string): Promise<InputShape> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let lineNo = 0;
  let columns: CsvColumns | undefined;
  try {
    for await (const raw of rl) {
      lineNo++;
      const line = clean(raw, lineNo);
      if (isNoise(line)) continue;
      if (columns === undefined && line.startsWith('{')) {
        const r = parseJsonLine(line);
        if (!r.ok)
          throw new InvalidInputFileError(path, `line ${lineNo}: ${r.reason}; ${EXPECTED}`);
        return { format: 'jsonl', columns: undefined, timestamps: Number.isFinite(r.timestampMs) };
      }
      if (columns === undefined) {
        columns = csvHeader(line);
        if (!columns) {
          throw new InvalidInputFileError(
            path,
            `line ${lineNo} (${quote(line)}) is not a header naming endpoint and duration_ns; ${EXPECTED}`,
          );
        }
        continue;
      }
      const r = parseCsvLine(line, columns);
      if (!r.ok) throw new InvalidInputFileError(path, `line ${lineNo}: ${r.reason}; ${EXPECTED}`);
      return { format: 'csv', columns, timestamps: Number.isFinite(r.timestampMs) };
    }
  } finally {
    rl.close();
  }
  throw new InvalidInputFileError(
    path,
    columns ? 'no records after the header' : `no records; ${EXPECTED}`,
  );
}

class Columns {
  ts: number[] = [];
  d: number[] = [];
  sorted = true;
  hasTime = true;
}

export interface ReadResult {
  series: EndpointSeries[];
  records: number;
  /** Lines that could not be read, with their number and reason (first 20). */
  skipped: { line: number; reason: string }[];
  skippedCount: number;
}

/**
 * Reads a CSV (with its header `timestamp_ns,endpoint,duration_ns`) or a JSON-lines file,
 * streaming; checks it first with `inspectInput`. `onProgress` gets the bytes read so far and
 * the file's size now and then.
 */
export async function readRecords(
  path: string,
  onProgress?: (bytesRead: number, totalBytes: number) => void,
): Promise<ReadResult> {
  const shape = await inspectInput(path);
  const totalBytes = statSync(path).size;
  const byEndpoint = new Map<string, Columns>();
  const skipped: ReadResult['skipped'] = [];
  let skippedCount = 0;
  let records = 0;
  let lineNo = 0;
  let bytes = 0;
  let headerSeen = shape.format === 'jsonl';
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const raw of rl) {
    lineNo++;
    bytes += Buffer.byteLength(raw) + 1;
    if (onProgress && lineNo % 65_536 === 0) onProgress(bytes, totalBytes);
    const line = clean(raw, lineNo);
    if (isNoise(line)) continue;
    if (!headerSeen) {
      headerSeen = true; // inspectInput checked it
      continue;
    }
    const r =
      shape.format === 'jsonl'
        ? parseJsonLine(line)
        : parseCsvLine(line, shape.columns as CsvColumns);
    if (!r.ok) {
      skippedCount++;
      if (skipped.length < 20) skipped.push({ line: lineNo, reason: r.reason });
      continue;
    }
    let cols = byEndpoint.get(r.endpoint);
    if (!cols) byEndpoint.set(r.endpoint, (cols = new Columns()));
    const t = r.timestampMs;
    if (!Number.isFinite(t)) cols.hasTime = false;
    const prev = cols.ts[cols.ts.length - 1];
    if (prev !== undefined && t < prev) cols.sorted = false;
    cols.ts.push(t);
    cols.d.push(r.durationMs);
    records++;
  }
  onProgress?.(totalBytes, totalBytes);
  if (records === 0) {
    throw new InvalidBodyError(
      `${path}: no records (expected CSV "timestamp_ns,endpoint,duration_ns" or JSON lines)`,
    );
  }
  const series: EndpointSeries[] = [];
  for (const [endpoint, c] of byEndpoint) {
    let order: number[] | undefined;
    if (c.hasTime && !c.sorted)
      order = c.ts.map((_, i) => i).sort((a, b) => (c.ts[a] as number) - (c.ts[b] as number));
    const pick = (arr: number[]) =>
      Float64Array.from(order ? order.map((i) => arr[i] as number) : arr);
    series.push({
      endpoint,
      timestampsMs: c.hasTime ? pick(c.ts) : undefined,
      durationsMs: pick(c.d),
    });
  }
  series.sort(
    (a, b) => b.durationsMs.length - a.durationsMs.length || a.endpoint.localeCompare(b.endpoint),
  );
  return { series, records, skipped, skippedCount };
}

/** A JSON value as the text of a number cell (numbers and numeric strings only). */
function cellText(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** Splits one CSV line; handles double-quoted cells with commas and doubled quotes. */
export function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

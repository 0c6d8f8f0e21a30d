// Reads recorded requests (CSV or JSON lines: timestamp_ns, endpoint, duration_ns) into per-endpoint series.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidBodyError } from '../core/errors.ts';
import type { EndpointSeries } from './replay.ts';

/** `1674981729496223142` (ns) → epoch ms, without losing precision to a 64-bit float first. */
export function nsToMs(ns: string): number {
  const s = ns.trim();
  if (!/^\d+$/.test(s)) return Number(s) / 1e6;
  return s.length <= 6 ? Number(s) / 1e6 : Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6;
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

/** Reads a CSV (header `timestamp_ns,endpoint,duration_ns`) or a JSON-lines file, streaming. */
export async function readRecords(path: string, onLine?: (n: number) => void): Promise<ReadResult> {
  const byEndpoint = new Map<string, Columns>();
  const skipped: ReadResult['skipped'] = [];
  let skippedCount = 0;
  let records = 0;
  let lineNo = 0;
  let csvCols: { ts: number; endpoint: number; duration: number } | undefined;
  const skip = (reason: string) => {
    skippedCount++;
    if (skipped.length < 20) skipped.push({ line: lineNo, reason });
  };
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const raw of rl) {
    lineNo++;
    if (onLine && lineNo % 100_000 === 0) onLine(lineNo);
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let tsText: string | undefined;
    let endpoint: string | undefined;
    let durText: string | undefined;
    if (line.startsWith('{')) {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        skip('invalid JSON');
        continue;
      }
      tsText = cellText(obj.timestamp_ns);
      endpoint = typeof obj.endpoint === 'string' ? obj.endpoint : undefined;
      durText = cellText(obj.duration_ns);
    } else {
      const cells = splitCsv(line);
      if (!csvCols) {
        const header = cells.map((c) => c.trim().toLowerCase());
        if (header.includes('endpoint') && header.includes('duration_ns')) {
          csvCols = {
            ts: header.indexOf('timestamp_ns'),
            endpoint: header.indexOf('endpoint'),
            duration: header.indexOf('duration_ns'),
          };
          continue;
        }
        csvCols = { ts: 0, endpoint: 1, duration: 2 };
      }
      tsText = csvCols.ts >= 0 ? cells[csvCols.ts] : undefined;
      endpoint = cells[csvCols.endpoint];
      durText = cells[csvCols.duration];
    }
    if (!endpoint) {
      skip('no endpoint');
      continue;
    }
    const durationMs = durText === undefined ? Number.NaN : nsToMs(durText);
    if (!Number.isFinite(durationMs) || durationMs < 0) {
      skip('duration_ns is not a non-negative number');
      continue;
    }
    let cols = byEndpoint.get(endpoint);
    if (!cols) byEndpoint.set(endpoint, (cols = new Columns()));
    const t = tsText === undefined || tsText.trim() === '' ? Number.NaN : nsToMs(tsText);
    if (!Number.isFinite(t)) cols.hasTime = false;
    const prev = cols.ts[cols.ts.length - 1];
    if (prev !== undefined && t < prev) cols.sorted = false;
    cols.ts.push(t);
    cols.d.push(durationMs);
    records++;
  }
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

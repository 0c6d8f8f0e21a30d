// Checks around a backtest run: report paths writable before it (a typo fails in a second), something judged after it.
// Light on purpose (no strategy code): the CLI imports it before the run starts.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NothingJudgedError, OutputNotWritableError } from '../core/errors.ts';
import type { EndpointSeries } from './replay.ts';
import type { BacktestReport } from './run.ts';

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // a parent is missing or a file
    throw err;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws `OutputNotWritableError` (naming `flag`, e.g. `--html`) when `path` cannot be written:
 * its directory is missing, is not a directory or is not writable, or the path is a directory or
 * a file that is not writable. Writes nothing.
 */
export function assertWritable(path: string, flag: string): void {
  const full = resolve(path);
  const fail = (reason: string) => {
    throw new OutputNotWritableError(path, `${reason} (${flag})`);
  };
  const st = statOrUndefined(full);
  if (st?.isDirectory()) fail('it is a directory');
  if (st) {
    if (!writable(full)) fail('the file is not writable');
    return;
  }
  const dir = dirname(full);
  const d = statOrUndefined(dir);
  if (!d) fail(`the directory ${dir} does not exist`);
  else if (!d.isDirectory()) fail(`${dir} is not a directory`);
  else if (!writable(dir)) fail(`the directory ${dir} is not writable`);
}

/**
 * Throws `NothingJudgedError` when no request of any endpoint was judged (so tables of zeros are
 * never mistaken for a result), saying what judging needs and what the longest endpoint had.
 */
export function assertJudged(report: BacktestReport, series: readonly EndpointSeries[]): void {
  if (report.endpoints.some((e) => e.judged > 0)) return;
  const longest = series.reduce<EndpointSeries | undefined>(
    (m, s) => (m && m.durationsMs.length >= s.durationsMs.length ? m : s),
    undefined,
  );
  const ts = longest?.timestampsMs;
  const span =
    ts && ts.length > 1
      ? ` over ${(((ts[ts.length - 1] as number) - (ts[0] as number)) / 1000).toFixed(1)} s of trace time`
      : '';
  const every =
    report.recomputeEvery !== null || !ts
      ? `every ${report.recomputeEvery ?? 100} requests`
      : `every ${report.recomputeS} s of trace time`;
  throw new NothingJudgedError(
    `requests are judged from the first recompute point (${every}) whose window holds ` +
      `--warmup ${report.warmupCount} requests; the longest endpoint` +
      `${longest ? ` (${JSON.stringify(longest.endpoint)}) has ${longest.durationsMs.length} requests${span}` : ' has none'}`,
  );
}

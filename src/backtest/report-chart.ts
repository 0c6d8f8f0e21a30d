// The data of one endpoint's chart in the HTML report: aligned series for uPlot, on a time axis whose long gaps are shortened.
import type { EndpointChart } from './run.ts';

/** Most duration points drawn per endpoint (the longest of each stride is kept). */
export const MAX_DURATION_POINTS = 6000;

/** Options of the time axis. */
export interface TimeAxisOptions {
  /**
   * The recompute interval (ms), the unit of gaps; undefined when the backtest recomputes every
   * N requests (the axis is then request numbers, and nothing is shortened).
   */
  recomputeMs: number | undefined;
  /** A silence longer than this many recompute intervals is drawn as a marked break. Default 5. */
  gapFactor?: number;
  /** Width a break is drawn with, in recompute intervals. Default 2. */
  breakWidthFactor?: number;
}

/** A shortened gap: the trace was silent from `fromMs` to `toMs`, drawn from `x0` to `x1`. */
export interface AxisBreak {
  x0: number;
  x1: number;
  fromMs: number;
  toMs: number;
}

/** One endpoint's chart as the page draws it: every array is aligned on `x`. */
export interface ChartData {
  endpoint: string;
  /** Whether `real` holds trace times (epoch ms) rather than request numbers. */
  time: boolean;
  /** Drawn positions (ms of the shortened axis; request numbers without time), ascending. */
  x: number[];
  /** The trace time (or request number) of each position. */
  real: number[];
  /** A request's duration at the positions that are requests (the longest of its stride), else null. */
  durations: (number | null)[];
  /** Served timeout of each strategy in force at each position (null before its first value). */
  served: Record<string, (number | null)[]>;
  breaks: AxisBreak[];
}

/**
 * Maps ascending times onto an axis where every silence longer than `maxGap` is drawn `drawn`
 * wide. Answers the drawn position of each time and the breaks, in order.
 */
export function compressGaps(
  times: readonly number[],
  maxGap: number,
  drawn: number,
): { x: number[]; breaks: AxisBreak[] } {
  const x: number[] = [];
  const breaks: AxisBreak[] = [];
  let shift = 0;
  for (let i = 0; i < times.length; i++) {
    const t = times[i] as number;
    if (i > 0) {
      const prev = times[i - 1] as number;
      if (t - prev > maxGap) {
        const x0 = prev - shift;
        shift += t - prev - drawn;
        breaks.push({ x0, x1: t - shift, fromMs: prev, toMs: t });
      }
    }
    x.push(t - shift);
  }
  return { x, breaks };
}

/** The chart of one endpoint: durations (downsampled) and every strategy's served steps. */
export function chartData(
  c: EndpointChart,
  strategies: readonly string[],
  axis: TimeAxisOptions,
): ChartData {
  const n = c.durationsMs.length;
  const time = c.timestampsMs !== undefined && axis.recomputeMs !== undefined;
  const tsOf = (i: number) => (c.timestampsMs ? (c.timestampsMs[i] as number) : i);
  const stride = Math.max(1, Math.ceil(n / MAX_DURATION_POINTS));
  const real: number[] = [];
  const durations: (number | null)[] = [];
  const pointOf: number[] = []; // index of the recompute point in force at each row, −1 before
  let p = -1;
  const points = c.atMs;
  const pushPointsUpTo = (t: number, inclusive: boolean) => {
    while (
      p + 1 < points.length &&
      ((points[p + 1] as number) < t || (inclusive && (points[p + 1] as number) === t))
    ) {
      p++;
      real.push(points[p] as number);
      durations.push(null);
      pointOf.push(p);
    }
  };
  for (let i = 0; i < n; i += stride) {
    // Keep the longest request of each stride so that tail events stay visible.
    let k = i;
    for (let j = i + 1; j < Math.min(n, i + stride); j++) {
      if ((c.durationsMs[j] as number) > (c.durationsMs[k] as number)) k = j;
    }
    const t = tsOf(k);
    pushPointsUpTo(t, true);
    real.push(t);
    durations.push(c.durationsMs[k] as number);
    pointOf.push(p);
  }
  pushPointsUpTo(Number.POSITIVE_INFINITY, true);
  // Stride maxima may step back in time within a stride; the axis must ascend.
  for (let i = 1; i < real.length; i++) {
    if ((real[i] as number) < (real[i - 1] as number)) real[i] = real[i - 1] as number;
  }
  const gapFactor = axis.gapFactor ?? 5;
  const { x, breaks } = time
    ? compressGaps(
        real,
        gapFactor * (axis.recomputeMs as number),
        (axis.breakWidthFactor ?? 2) * (axis.recomputeMs as number),
      )
    : { x: [...real], breaks: [] };
  const served: Record<string, (number | null)[]> = {};
  for (const s of strategies) {
    const values = c.servedMs[s] ?? [];
    served[s] = pointOf.map((i) => (i < 0 ? null : (values[i] ?? null)));
  }
  return { endpoint: c.endpoint, time, x, real, durations, served, breaks };
}

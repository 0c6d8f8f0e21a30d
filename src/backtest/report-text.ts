// The backtest's terminal tables: one per endpoint and one overall.
import type { StrategyScore } from './metrics.ts';
import type { BacktestReport } from './run.ts';

const pct = (x: number) => `${(x * 100).toFixed(3)}%`;
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function table(
  title: string,
  alpha: number,
  rows: Record<string, StrategyScore>,
  best?: string,
): string {
  const head = [
    'strategy',
    'judged',
    `false-timeouts (α ${pct(alpha)})`,
    'worst rolling-1000',
    'mean ms',
    'median ms',
    'inflation',
    'pinball ms',
    'overshoot p99/max',
    'recovery p50/max',
  ];
  const body = Object.entries(rows).map(([name, s]) => [
    name + (name === best ? ' *' : ''),
    String(s.judged),
    `${pct(s.falseTimeoutRate)}${s.falseTimeoutRate <= alpha ? ' ok' : s.falseTimeoutRate <= 2 * alpha ? ' ~' : ' !!'}`,
    pct(s.worstRollingRate),
    ms(s.meanTimeoutMs),
    ms(s.medianTimeoutMs),
    s.inflation.toFixed(2),
    s.pinballLoss.toFixed(3),
    `${s.overshootP99.toFixed(2)}/${s.overshootMax.toFixed(2)}`,
    s.recoveryP50 === null ? '-' : `${s.recoveryP50}/${s.recoveryMax} (${s.shifts})`,
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((r) => (r[i] as string).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  return [title, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join(
    '\n',
  );
}

export function formatReport(report: BacktestReport): string {
  const out: string[] = [];
  for (const e of report.endpoints) {
    out.push(
      table(
        `${e.endpoint}  (${e.requests} requests, ${e.warmup} in warm-up, hindsight ${pct(1 - report.alpha)} quantile ${ms(e.hindsightQuantileMs)} ms)`,
        report.alpha,
        e.strategies,
        report.defaultStrategy,
      ),
    );
  }
  out.push(
    table(
      `OVERALL  (${report.records} records, ${report.endpoints.length} endpoints, α = ${report.alpha}, recompute ${report.recomputeS !== null ? `${report.recomputeS} s` : `every ${report.recomputeEvery} requests`}${report.censor ? ', censoring simulated' : ''})`,
      report.alpha,
      report.overall,
      report.defaultStrategy,
    ),
  );
  out.push(
    `* = the product's default strategy. ok: at or under α; ~: under 2α; !!: above 2α.\n` +
      `overshoot: served ÷ the max of the window it was computed from, per recompute. recovery: ` +
      `computations after a shift (the window's ${pct(1 - report.alpha)} quantile changed > 2×) until the ` +
      `served value stays within 1.2× of its settled value (median 10–19 computations later); (n) shifts.`,
  );
  return out.join('\n\n');
}

// The backtest's HTML report: tables and one self-contained SVG chart per endpoint (no CDN).
import type { StrategyScore } from './metrics.ts';
import type { BacktestReport, EndpointChart } from './run.ts';

const COLORS = [
  '#d62728',
  '#1f77b4',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#17becf',
];
const MAX_POINTS = 6000;

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
const pct = (x: number) => `${(x * 100).toFixed(3)}%`;

function scoreTable(alpha: number, rows: Record<string, StrategyScore>, best: string): string {
  const tr = Object.entries(rows)
    .map(
      ([name, s]) =>
        `<tr${name === best ? ' class="default"' : ''}><td>${esc(name)}</td><td>${s.judged}</td>` +
        `<td class="${s.falseTimeoutRate <= alpha ? 'ok' : s.falseTimeoutRate <= 2 * alpha ? 'near' : 'bad'}">${pct(s.falseTimeoutRate)}</td>` +
        `<td>${pct(s.worstRollingRate)}</td><td>${s.meanTimeoutMs.toFixed(1)}</td><td>${s.medianTimeoutMs.toFixed(1)}</td>` +
        `<td>${s.inflation.toFixed(2)}</td><td>${s.pinballLoss.toFixed(3)}</td></tr>`,
    )
    .join('');
  return (
    '<table><thead><tr><th>strategy</th><th>judged</th><th>false-timeout rate</th><th>worst rolling-1000</th>' +
    `<th>mean ms</th><th>median ms</th><th>inflation</th><th>pinball ms</th></tr></thead><tbody>${tr}</tbody></table>`
  );
}

/** SVG of one endpoint: durations as points, each strategy's served timeout as a step line (log y). */
export function chartSvg(
  c: EndpointChart,
  strategies: readonly string[],
  width = 960,
  height = 320,
): string {
  const n = c.durationsMs.length;
  const xs = c.timestampsMs ?? Float64Array.from({ length: n }, (_, i) => i);
  if (n === 0) return '';
  const x0 = xs[0] as number;
  const x1 = Math.max(x0 + 1, xs[n - 1] as number);
  let lo = Infinity;
  let hi = 0;
  for (const d of c.durationsMs) {
    if (d > 0) lo = Math.min(lo, d);
    hi = Math.max(hi, d);
  }
  for (const s of strategies) for (const v of c.servedMs[s] ?? []) hi = Math.max(hi, v);
  lo = Math.max(lo, 0.01);
  const ly0 = Math.log10(lo);
  const ly1 = Math.log10(hi * 1.2);
  const pad = { l: 56, r: 10, t: 10, b: 24 };
  const px = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const py = (y: number) =>
    height - pad.b - ((Math.log10(Math.max(y, lo)) - ly0) / (ly1 - ly0)) * (height - pad.t - pad.b);
  const step = Math.max(1, Math.ceil(n / MAX_POINTS));
  const dots: string[] = [];
  for (let i = 0; i < n; i += step) {
    // Keep the longest request of each stride so that tail events stay visible.
    let k = i;
    for (let j = i + 1; j < Math.min(n, i + step); j++)
      if ((c.durationsMs[j] as number) > (c.durationsMs[k] as number)) k = j;
    dots.push(`M${px(xs[k] as number).toFixed(1)} ${py(c.durationsMs[k] as number).toFixed(1)}h0`);
  }
  const lines = strategies.map((s, si) => {
    const v = c.servedMs[s] ?? [];
    if (v.length === 0) return '';
    let d = '';
    for (let i = 0; i < v.length; i++) {
      const xa = px(c.atMs[i] as number);
      const xb = px(i + 1 < v.length ? (c.atMs[i + 1] as number) : x1);
      const y = py(v[i] as number);
      d += `${i === 0 ? 'M' : 'L'}${xa.toFixed(1)} ${y.toFixed(1)}H${xb.toFixed(1)}`;
    }
    return `<path d="${d}" fill="none" stroke="${COLORS[si % COLORS.length]}" stroke-width="1.4"><title>${esc(s)}</title></path>`;
  });
  const ticks: string[] = [];
  for (let e = Math.ceil(ly0); e <= ly1; e++) {
    const y = py(10 ** e);
    ticks.push(
      `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${pad.l - 6}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} ms</text>`,
    );
  }
  const legend = strategies
    .map((s, si) => `<tspan fill="${COLORS[si % COLORS.length]}">■ ${esc(s)}</tspan>`)
    .join('  ');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(c.endpoint)}">` +
    ticks.join('') +
    `<path d="${dots.join('')}" stroke="#555" stroke-opacity="0.45" stroke-width="2.2" stroke-linecap="round"/>` +
    lines.join('') +
    `<text x="${pad.l + 4}" y="${height - 6}">${legend}  <tspan fill="#555">● durations</tspan></text></svg>`
  );
}

export function renderHtml(report: BacktestReport, charts: readonly EndpointChart[]): string {
  const sections = report.endpoints
    .map((e, i) => {
      const c = charts[i];
      return (
        `<section><h2>${esc(e.endpoint)}</h2><p>${e.requests} requests, ${e.warmup} in warm-up, ` +
        `hindsight ${pct(1 - report.alpha)} quantile ${e.hindsightQuantileMs.toFixed(1)} ms</p>` +
        scoreTable(report.alpha, e.strategies, report.defaultStrategy) +
        (c ? chartSvg(c, report.strategies) : '') +
        '</section>'
      );
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>JustInTimeout backtest</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #ddd}
td:first-child,th:first-child{text-align:left}tr.default td:first-child::after{content:" (default)";color:#777}
.ok{color:#1a7f37}.near{color:#9a6700}.bad{color:#cf222e;font-weight:600}svg{font:11px sans-serif;background:#fff}
section{margin-top:28px}
</style></head><body>
<h1>JustInTimeout backtest</h1>
<p>${report.records} records, ${report.endpoints.length} endpoints, target α = ${report.alpha}, recompute ${
    report.recomputeS !== null
      ? `every ${report.recomputeS} s`
      : `every ${report.recomputeEvery} requests`
  }, window ${report.windowHours} h / ${report.windowLimit} values, warm-up ${report.warmupCount}${
    report.censor ? ', censoring simulated' : ''
  }. Served values went through the broker's damping, margin and clamps.</p>
<h2>Overall</h2>
${scoreTable(report.alpha, report.overall, report.defaultStrategy)}
${sections}
</body></html>
`;
}

// The backtest's HTML report: tables and one interactive uPlot chart per endpoint, in one self-contained file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chartData, type ChartData } from './report-chart.ts';
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

const require = createRequire(import.meta.url);

/** uPlot's script and style, read once from node_modules and inlined: the report opens offline. */
let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

/** Text safe inside <script>: no "</script", no "<!--" (JSON and JS stay equivalent). */
const scriptSafe = (text: string) => text.replace(/<(?=\/script|!--)/gi, '\\u003c');

/** A chart's container and its data (JSON the page script reads), drawn when the page loads. */
function chartBlock(c: EndpointChart, report: BacktestReport, i: number): string {
  const data: ChartData & { colors: string[] } = {
    ...chartData(c, report.strategies, {
      recomputeMs: report.recomputeS === null ? undefined : report.recomputeS * 1000,
    }),
    colors: report.strategies.map((_, si) => COLORS[si % COLORS.length] as string),
  };
  return (
    `<figure class="chart"><div id="chart-${i}" class="plot"></div>` +
    `<figcaption class="note" id="chart-${i}-note"></figcaption></figure>` +
    `<script type="application/json" class="chart-data" data-target="chart-${i}">${scriptSafe(JSON.stringify(data))}</script>`
  );
}

export function renderHtml(report: BacktestReport, charts: readonly EndpointChart[]): string {
  const assets = uplot();
  const sections = report.endpoints
    .map((e, i) => {
      const c = charts[i];
      return (
        `<section><h2>${esc(e.endpoint)}</h2><p>${e.requests} requests, ${e.warmup} in warm-up, ` +
        `hindsight ${pct(1 - report.alpha)} quantile ${e.hindsightQuantileMs.toFixed(1)} ms</p>` +
        scoreTable(report.alpha, e.strategies, report.defaultStrategy) +
        (c ? chartBlock(c, report, i) : '') +
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
section{margin-top:28px}figure.chart{margin:8px 0}.note{color:#555;font-size:12px}
.u-legend .u-series{cursor:pointer}.u-legend .u-series.u-off{opacity:.35}
</style>
<style>${assets.css}</style>
<script>${scriptSafe(assets.js)}</script></head><body>
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
<p class="note">Charts: requests' durations (grey points, the longest of each stride) and each strategy's served timeout, log scale, trace time in UTC. Drag to zoom, double-click to reset, click a name in the legend to hide or show it; the legend gives every value at the cursor. Silences longer than 5 recompute intervals are shortened and marked.</p>
${sections}
<script>${scriptSafe(PAGE_SCRIPT)}</script>
</body></html>
`;
}

/**
 * The page's own script: one uPlot chart per `.chart-data` block. Plain ES2020 run by the
 * browser; `window.jitCharts` keeps the charts (for people in the console, and the browser test).
 */
const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var pad = function (n) { return String(n).padStart(2, '0'); };
  function fmtTime(ms, withDate) {
    var d = new Date(ms);
    var hms = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds());
    return withDate ? d.toISOString().slice(0, 10) + ' ' + hms : hms;
  }
  function fmtSpan(ms) {
    var m = Math.round(ms / 60000);
    if (m < 60) return m + ' min';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '');
    return Math.round(h / 24) + ' days';
  }
  function fmtMs(v) {
    if (v == null) return '–';
    return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v >= 10 ? v.toFixed(0) + ' ms' : v.toFixed(2) + ' ms';
  }
  // The trace time at a drawn position: exact at the data's positions, linear between them
  // (inside a shortened gap too, so a tick there says a time within the gap).
  function realAt(d, x) {
    var xs = d.x, lo = 0, hi = xs.length - 1;
    if (hi < 0) return x;
    if (x <= xs[0]) return d.real[0] + (x - xs[0]);
    if (x >= xs[hi]) return d.real[hi] + (x - xs[hi]);
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (xs[mid] <= x) lo = mid; else hi = mid; }
    var span = xs[hi] - xs[lo];
    return span > 0 ? d.real[lo] + ((x - xs[lo]) / span) * (d.real[hi] - d.real[lo]) : d.real[lo];
  }
  var charts = [];
  window.jitCharts = charts;
  document.querySelectorAll('script.chart-data').forEach(function (node) {
    var d = JSON.parse(node.textContent);
    var el = document.getElementById(node.dataset.target);
    var names = Object.keys(d.served);
    var data = [d.x, d.durations].concat(names.map(function (n) { return d.served[n]; }));
    var entry = { endpoint: d.endpoint, xLabels: [], breaks: d.breaks, data: d, chart: null };
    var spanMs = d.real.length ? d.real[d.real.length - 1] - d.real[0] : 0;
    var series = [
      {
        label: d.time ? 'time (UTC)' : 'request',
        value: function (u, v) { return v == null ? '–' : d.time ? fmtTime(realAt(d, v), true) : String(Math.round(v)); },
      },
      {
        label: 'durations',
        stroke: 'rgba(85,85,85,0.5)',
        fill: 'rgba(85,85,85,0.5)',
        width: 0,
        paths: function () { return null; },
        points: { show: true, size: 3, stroke: 'rgba(85,85,85,0.5)', fill: 'rgba(85,85,85,0.5)' },
        value: function (u, v) { return fmtMs(v); },
      },
    ].concat(names.map(function (n, i) {
      return {
        label: n,
        stroke: d.colors[i],
        width: 1.6,
        spanGaps: true,
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: false },
        value: function (u, v) { return fmtMs(v); },
      };
    }));
    var opts = {
      width: Math.max(320, Math.min(1060, el.clientWidth || 960)),
      height: 340,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false }, y: { distr: 3, log: 10 } },
      legend: { live: true },
      axes: [
        {
          space: 90,
          values: function (u, splits) {
            var labels = splits.map(function (v) {
              if (!d.time) return String(Math.round(v));
              return fmtTime(realAt(d, v), spanMs > 86400000);
            });
            entry.xLabels = labels;
            return labels;
          },
        },
        { size: 70, values: function (u, splits) { return splits.map(fmtMs); } },
      ],
      series: series,
      hooks: {
        // Shortened gaps: a hatched band with the real length of the silence.
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          d.breaks.forEach(function (b) {
            var x0 = u.valToPos(b.x0, 'x', true), x1 = u.valToPos(b.x1, 'x', true);
            if (x1 < u.bbox.left || x0 > u.bbox.left + u.bbox.width) return;
            ctx.fillStyle = 'rgba(148,163,184,0.25)';
            ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height);
            ctx.strokeStyle = '#64748b';
            ctx.setLineDash([4, 3]);
            ctx.beginPath();
            ctx.moveTo(x0, u.bbox.top); ctx.lineTo(x0, u.bbox.top + u.bbox.height);
            ctx.moveTo(x1, u.bbox.top); ctx.lineTo(x1, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillStyle = '#334155';
            ctx.font = 11 * devicePixelRatio + 'px sans-serif';
            ctx.fillText('⋯ ' + fmtSpan(b.toMs - b.fromMs), x0 + 3, u.bbox.top + 12 * devicePixelRatio);
          });
          ctx.restore();
        }],
      },
    };
    entry.chart = new uPlot(opts, data, el);
    charts.push(entry);
    var note = document.getElementById(node.dataset.target + '-note');
    if (note && d.breaks.length) {
      note.textContent = 'Shortened: ' + d.breaks.map(function (b) {
        return fmtTime(b.fromMs, true) + ' → ' + fmtTime(b.toMs, true) + ' (' + fmtSpan(b.toMs - b.fromMs) + ' without requests)';
      }).join('; ') + '.';
    }
  });
})();
`;

// @ts-check
// The dashboard's client: polls the broker's JSON API and renders tables and uPlot charts.
// Plain JavaScript, type-checked through JSDoc (tsconfig.json here); nothing to build.
/* global document, window, fetch, location, URLSearchParams, sessionStorage, ResizeObserver, setTimeout, setInterval, clearTimeout, HTMLElement */

/** @typedef {import('uplot')} UPlot */
/** @typedef {import('uplot').Options} UPlotOptions */
/** @typedef {Record<string, number>} Percentiles */
// The broker's answers, typed by the protocol's zod schemas (types only: nothing is imported at
// run time, so the page still needs no build).
/** @typedef {import('../../protocol/broker-api.ts').EndpointView} EndpointView */
/** @typedef {import('../../protocol/broker-api.ts').HistoryPoint} HistoryPoint */
/** @typedef {import('../../protocol/broker-api.ts').CycleSummary} CycleSummary */
/** @typedef {import('../../protocol/broker-api.ts').WorkerView} WorkerView */

const uPlot = /** @type {typeof import('uplot')} */ (/** @type {any} */ (window).uPlot);

/** Refresh period: 5 s, or `?refresh=<ms>` (at least 1000). */
const REFRESH_MS = Math.max(
  1000,
  Number(new URLSearchParams(location.search).get('refresh')) || 5000,
);
/** Most history points fetched for the chart. */
const HISTORY_LIMIT = 10_000;
const COLORS = {
  served: '#1d4ed8',
  p50: '#15803d',
  p99: '#d97706',
  p999: '#7c3aed',
  failed: '#b91c1c',
  window: '#64748b',
};
/** Sort order of statuses: problems first. */
const STATUS_RANK = { stale: 0, never: 1, fresh: 2 };

const state = {
  /** @type {EndpointView[]} */ endpoints: [],
  /** @type {WorkerView[]} */ workers: [],
  /** @type {CycleSummary[]} */ cycles: [],
  /** @type {string | null} */ nextCycleAt: null,
  /** @type {string | null} */ selected: selectedFromHash(),
  sort: { key: 'status', dir: 1 },
  paused: false,
  /** @type {string} What the loaded history belongs to (endpoint, range, last attempt). */
  historyKey: '',
  /** @type {HistoryPoint[]} */ history: [],
  /** @type {number | undefined} */ lastSuccessAt: undefined,
};

// ---------------------------------------------------------------------------------------------
// Small helpers. Every piece of data goes into the page as text, never as HTML.

/**
 * @param {string} tag
 * @param {Record<string, string | undefined>} [attrs]
 * @param {...(Node | string)} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

/** Milliseconds for people: 0.53 ms, 13.2 ms, 221 ms, 4.44 s, 2.5 min. @param {number | null | undefined} ms */
function fmtMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** The served timeout exactly, as callers get it. @param {number} ms */
function fmtExactMs(ms) {
  return `${ms.toLocaleString('en-US')} ms`;
}

/** @param {number} seconds */
function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** "12 s ago". @param {string} iso @param {number} now */
function agoText(iso, now) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${fmtDuration((now - t) / 1000)} ago` : '';
}

/** "in 4 s". @param {string} iso @param {number} now */
function untilText(iso, now) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  return t > now ? `in ${fmtDuration((t - now) / 1000)}` : 'due now';
}

/** An element showing "12 s ago", kept current by the ticker. @param {string | null} iso */
function ago(iso) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const title = new Date(iso).toLocaleString();
  return h('time', { datetime: iso, title, 'data-ago': iso }, agoText(iso, Date.now()));
}

/** @param {number} x */
function fmtShare(x) {
  if (x <= 0) return '0 %';
  if (x < 0.0001) return '< 0.01 %';
  return `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`;
}

/** @param {string} status */
function statusBadge(status) {
  const label = status === 'stale' ? '⚠ stale' : status === 'never' ? '○ never' : '● fresh';
  return h('span', { class: `badge badge-${status}` }, label);
}

function selectedFromHash() {
  const m = /^#\/endpoint\/(.*)$/.exec(location.hash);
  if (!m || m[1] === undefined) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

/** Where the read token lives while the tab is open (a broker with --read-token asks for it). */
const TOKEN_KEY = 'jit-read-token';

class NeedsTokenError extends Error {
  /** @param {boolean} rejected whether a token was sent and refused */
  constructor(rejected) {
    super(rejected ? 'the read token was refused' : 'this broker needs a read token');
    this.rejected = rejected;
  }
}

/**
 * @template T
 * @param {string} path
 * @returns {Promise<T>}
 */
async function getJson(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(path, {
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  if (res.status === 401) throw new NeedsTokenError(token !== null);
  const body = await res.json().catch(() => null);
  if (!res.ok && res.status !== 503) {
    const message = body && body.error ? body.error.message : `HTTP ${res.status}`;
    throw Object.assign(new Error(message), { status: res.status });
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// Endpoints table.

/** @param {EndpointView} e @param {string} key @returns {string | number | null} */
function sortValue(e, key) {
  const p = e.percentilesMs;
  switch (key) {
    case 'status':
      return STATUS_RANK[e.status];
    case 'p50':
    case 'p99':
    case 'p999':
      return p ? (p[key] ?? null) : null;
    case 'computedAt':
      return e.computedAt ? Date.parse(e.computedAt) : null;
    default: {
      const v = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (e))[key];
      return typeof v === 'number' || typeof v === 'string' ? v : null;
    }
  }
}

/** @param {EndpointView[]} list */
function sortedAndFiltered(list) {
  const text = /** @type {HTMLInputElement} */ (byId('filter')).value.trim().toLowerCase();
  const status = /** @type {HTMLSelectElement} */ (byId('status-filter')).value;
  const { key, dir } = state.sort;
  return list
    .filter((e) => !status || e.status === status)
    .filter(
      (e) =>
        !text ||
        `${e.endpoint}\u0000${e.strategy ?? ''}\u0000${e.status}`.toLowerCase().includes(text),
    )
    .sort((a, b) => {
      const va = sortValue(a, key);
      const vb = sortValue(b, key);
      // Missing values last, whichever the direction.
      if (va === null || vb === null) return va === vb ? 0 : va === null ? 1 : -1;
      const c =
        typeof va === 'number' && typeof vb === 'number'
          ? va - vb
          : String(va).localeCompare(String(vb));
      return c * dir || a.endpoint.localeCompare(b.endpoint);
    });
}

/**
 * The table's rows by endpoint name. A refresh updates these rows in place (and moves them when
 * the order changed) instead of building new ones: a row that is replaced loses the keyboard
 * focus and any text selected in it, every 5 s.
 * @type {Map<string, HTMLElement>}
 */
const endpointRows = new Map();

/**
 * Sets a cell's content only when it differs from what it shows (`key` names the content), so
 * that an unchanged cell keeps its text nodes, and with them a selection inside it.
 * @param {Element} td @param {string} key @param {() => Node | string} content
 */
function setCell(td, key, content) {
  if (td.getAttribute('data-value') === key) return;
  td.setAttribute('data-value', key);
  td.replaceChildren(content());
}

/**
 * Sets an attribute only when it changes (or removes it for undefined).
 * @param {Element} el @param {string} name @param {string | undefined} value
 */
function setAttr(el, name, value) {
  if (value === undefined) el.removeAttribute(name);
  else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** The row of `e`, made on first sight and brought up to date. @param {EndpointView} e */
function endpointRow(e) {
  let tr = endpointRows.get(e.endpoint);
  if (!tr) {
    tr = h('tr', { tabindex: '0', 'data-endpoint': e.endpoint });
    for (const cls of ['', 'name', 'num strong', '', 'num', 'num', 'num', 'num', 'num', '']) {
      tr.append(h('td', cls ? { class: cls } : {}));
    }
    endpointRows.set(e.endpoint, tr);
  }
  const selected = e.endpoint === state.selected;
  setAttr(tr, 'class', `status-${e.status}${selected ? ' selected' : ''}`);
  setAttr(tr, 'aria-selected', String(selected));
  // The reason in words on hover (the detail view shows it in full); a failure's error first.
  setAttr(
    tr,
    'title',
    e.lastError ? `last attempt failed: ${e.lastError}\n${e.reason}` : `why: ${e.reason}`,
  );
  const p = e.percentilesMs;
  const samples = e.samples === null ? '–' : e.samples.toLocaleString('en-US');
  /** @type {[string, () => Node | string][]} */
  const cells = [
    [e.status, () => statusBadge(e.status)],
    [e.endpoint, () => e.endpoint],
    [fmtExactMs(e.timeoutMs), () => fmtExactMs(e.timeoutMs)],
    [e.strategy ?? '–', () => e.strategy ?? '–'],
    [String(e.alpha), () => String(e.alpha)],
    [samples, () => samples],
    [fmtMs(p?.p50), () => fmtMs(p?.p50)],
    [fmtMs(p?.p99), () => fmtMs(p?.p99)],
    [fmtMs(p?.p999), () => fmtMs(p?.p999)],
    [e.computedAt ?? '', () => ago(e.computedAt)],
  ];
  cells.forEach(([key, content], i) =>
    setCell(/** @type {Element} */ (tr.children[i]), key, content),
  );
  return tr;
}

function renderEndpoints() {
  const tbody = /** @type {HTMLElement} */ (byId('endpoints').querySelector('tbody'));
  const rows = sortedAndFiltered(state.endpoints).map(endpointRow);
  // Forget the rows of endpoints that are gone (not those only filtered out: they come back).
  const known = new Set(state.endpoints.map((e) => e.endpoint));
  for (const name of endpointRows.keys()) if (!known.has(name)) endpointRows.delete(name);
  // Put the rows in order, moving only those out of place; Chromium drops the focus of an
  // element that is moved, so the focused row gets it back.
  const focused = document.activeElement;
  rows.forEach((tr, i) => {
    const at = tbody.children[i];
    if (at !== tr) tbody.insertBefore(tr, at ?? null);
  });
  while (tbody.children.length > rows.length) tbody.lastElementChild?.remove();
  if (focused instanceof HTMLElement && focused.isConnected && document.activeElement !== focused) {
    focused.focus({ preventScroll: true });
  }
  const counts = { fresh: 0, stale: 0, never: 0 };
  for (const e of state.endpoints) counts[e.status]++;
  byId('endpoint-count').textContent =
    `${state.endpoints.length} · ${counts.fresh} fresh, ${counts.stale} stale, ${counts.never} never`;
  const empty = byId('endpoints-empty');
  empty.hidden = rows.length > 0;
  empty.textContent =
    state.endpoints.length === 0
      ? 'No endpoints yet: the broker reads them from its endpoint list at every cycle.'
      : 'No endpoint matches the filter.';
  for (const th of byId('endpoints').querySelectorAll('th[data-key]')) {
    const k = th.getAttribute('data-key');
    th.setAttribute(
      'aria-sort',
      k === state.sort.key ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Endpoint detail: history chart, window histogram, recent results.

/** @type {UPlot | undefined} */ let historyChart;
/** @type {UPlot | undefined} */ let windowChart;
/** @type {string | undefined} */ let historyChartFor;

/** A value a log scale can show. @param {number | null | undefined} v */
const pos = (v) => (v !== null && v !== undefined && v > 0 && Number.isFinite(v) ? v : null);

/** @param {HTMLElement} el */
function chartWidth(el) {
  return Math.max(280, Math.floor(el.clientWidth));
}

/** Axis labels: 100 ms, 2 s, 1.5 min. @param {number} ms */
function fmtTick(ms) {
  const trim = (/** @type {number} */ x) => String(+x.toPrecision(3));
  if (ms < 1000) return `${trim(ms)} ms`;
  if (ms < 1_000_000) return `${trim(ms / 1000)} s`;
  return `${trim(ms / 60_000)} min`;
}

/** @param {UPlot} _u @param {number[]} splits */
const msTicks = (_u, splits) => splits.map((v) => (v === null ? '' : fmtTick(v)));

/**
 * On a log axis uPlot splits at 1…9 × 10ᵏ: keep 1, 2 and 5 × 10ᵏ, for a calm grid.
 * @param {UPlot} _u @param {number[]} splits
 */
const logSplits = (_u, splits) => {
  const shown = splits.filter((v) => v > 0);
  const decades = Math.log10(Math.max(...shown) / Math.min(...shown));
  // Over more than two decades, 2 and 5 × 10ᵏ crowd the axis: decades only.
  const keep = decades > 2 ? [1] : [1, 2, 5];
  return splits.map((v) => {
    if (!(v > 0)) return null;
    const m = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
    return keep.some((x) => Math.abs(m - x) < 1e-6) ? v : null;
  });
};

/** A log axis in ms. @returns {import('uplot').Axis} */
function msLogAxis() {
  return {
    stroke: '#475569',
    grid: { stroke: '#e2e8f0', filter: logSplits },
    ticks: { filter: logSplits },
    filter: logSplits,
    values: msTicks,
    size: 64,
  };
}

/** @param {HistoryPoint[]} points */
function historyData(points) {
  const xs = points.map((p) => Date.parse(p.at) / 1000);
  return /** @type {import('uplot').AlignedData} */ ([
    xs,
    points.map((p) => pos(p.servedMs)),
    points.map((p) => pos(p.percentilesMs?.p50)),
    points.map((p) => pos(p.percentilesMs?.p99)),
    points.map((p) => pos(p.percentilesMs?.p999)),
    points.map((p) => (p.ok ? null : (pos(p.servedMs) ?? pos(p.storedMs)))),
  ]);
}

/**
 * Says why the value at history point `idx` (the chart's cursor) was what it was; without a
 * point under the cursor, the hint to hover. @param {number | null} idx
 */
function showHistoryReason(idx) {
  const el = byId('history-reason');
  const p = idx === null ? undefined : state.history[idx];
  if (!p) {
    el.textContent = 'Hover the chart to see why each value was what it was.';
    el.classList.add('muted');
    return;
  }
  el.classList.remove('muted');
  const when = new Date(p.at).toLocaleTimeString();
  const why =
    p.reason ?? (p.ok ? 'no reason recorded' : 'the attempt failed before any value existed');
  el.textContent = `${when}: ${why}${p.ok || !p.error ? '' : ` (${p.error})`}`;
}

/** @param {HistoryPoint[]} points */
function renderHistoryChart(points) {
  const el = byId('chart-history');
  const empty = byId('history-empty');
  const data = historyData(points);
  const drawable = [data[1], data[2]].some((ys) => ys?.some((v) => v !== null));
  empty.hidden = drawable;
  empty.textContent =
    points.length === 0
      ? 'No computation in this range yet.'
      : 'Nothing to draw yet: every attempt in this range failed before a value existed.';
  const first = points[0];
  byId('history-note').textContent =
    first === undefined
      ? ''
      : `${points.length.toLocaleString('en-US')} computations since ${new Date(first.at).toLocaleString()}` +
        (points.length >= HISTORY_LIMIT
          ? ` (the most recent ${HISTORY_LIMIT.toLocaleString('en-US')}: choose a shorter range to see all)`
          : '') +
        '. Drag to zoom, double-click to reset.';
  if (!drawable) {
    historyChart?.destroy();
    historyChart = undefined;
    historyChartFor = undefined;
    el.replaceChildren();
    return;
  }
  if (historyChart && historyChartFor === state.selected) {
    historyChart.setData(data);
    return;
  }
  historyChart?.destroy();
  el.replaceChildren();
  /** @type {UPlotOptions} */
  const opts = {
    width: chartWidth(el),
    height: 260,
    cursor: { drag: { x: true, y: false } },
    // The reason of the computation under the cursor, in words, below the chart.
    hooks: { setCursor: [(u) => showHistoryReason(u.cursor.idx ?? null)] },
    scales: { x: { time: true }, y: { distr: 3, log: 10 } },
    axes: [{ stroke: '#475569', grid: { stroke: '#e2e8f0' } }, msLogAxis()],
    series: [
      {},
      {
        label: 'served timeout',
        stroke: COLORS.served,
        width: 2.5,
        paths: uPlot.paths.stepped?.({ align: 1 }),
        spanGaps: true,
        value: (_u, v) => fmtMs(v),
      },
      { label: 'p50', stroke: COLORS.p50, width: 1.5, spanGaps: true, value: (_u, v) => fmtMs(v) },
      { label: 'p99', stroke: COLORS.p99, width: 1.5, spanGaps: true, value: (_u, v) => fmtMs(v) },
      {
        label: 'p99.9',
        stroke: COLORS.p999,
        width: 1.5,
        dash: [5, 4],
        spanGaps: true,
        value: (_u, v) => fmtMs(v),
      },
      {
        label: 'failed attempt',
        stroke: COLORS.failed,
        width: 0,
        paths: () => null,
        points: { show: true, size: 9, fill: COLORS.failed, stroke: COLORS.failed },
        value: (_u, v) => (v === null ? '' : 'failed'),
      },
    ],
  };
  historyChart = new uPlot(opts, data, el);
  historyChartFor = state.selected ?? undefined;
  showHistoryReason(null);
}

/**
 * The window's shape from its percentiles: the CDF is known at p50, p90, p99, p99.9 and the
 * maximum; between two of them we spread the share evenly on a log scale. The window's minimum
 * is not reported, so the lower half is not drawn.
 * @param {Percentiles} p
 */
function windowBands(p) {
  /** @type {[number, number][]} value, share at or below it */
  const known = [
    [p.p50 ?? 0, 0.5],
    [p.p90 ?? 0, 0.9],
    [p.p99 ?? 0, 0.99],
    [p.p999 ?? 0, 0.999],
    [p.max ?? 0, 1],
  ];
  /** @type {[number, number][]} */
  const cdf = [];
  for (const [v, q] of known) {
    if (!(v > 0)) continue;
    const last = cdf[cdf.length - 1];
    if (last && v <= last[0]) last[1] = Math.max(last[1], q);
    else cdf.push([v, q]);
  }
  return cdf;
}

/**
 * Share of the window above `t`, interpolated on the same log scale.
 * @param {[number, number][]} cdf @param {number} t
 */
function shareAbove(cdf, t) {
  const first = cdf[0];
  const lastPoint = cdf[cdf.length - 1];
  if (!first || !lastPoint) return null;
  if (t >= lastPoint[0]) return 0;
  if (t < first[0]) return null; // below the median: more than half
  for (let i = 0; i + 1 < cdf.length; i++) {
    const [v0, q0] = /** @type {[number, number]} */ (cdf[i]);
    const [v1, q1] = /** @type {[number, number]} */ (cdf[i + 1]);
    if (t >= v0 && t < v1) {
      const f = Math.log(t / v0) / Math.log(v1 / v0);
      return 1 - (q0 + f * (q1 - q0));
    }
  }
  return 0;
}

/** @param {EndpointView} e */
function renderWindowChart(e) {
  const el = byId('chart-window');
  const note = byId('window-note');
  const p = e.percentilesMs;
  const cdf = p && (e.samples ?? 0) > 0 ? windowBands(p) : [];
  windowChart?.destroy();
  windowChart = undefined;
  el.replaceChildren();
  if (cdf.length < 2) {
    note.textContent =
      e.samples === 0
        ? 'The latest window was empty.'
        : cdf.length === 1
          ? `Every duration in the window above the median is ${fmtMs(cdf[0]?.[0])}.`
          : 'No window computed yet.';
    return;
  }
  const timeout = e.timeoutMs;
  const xs = cdf.map(([v]) => v);
  // Each band's share of the window, and its density: share per decade of latency, so that
  // each band's area (on the log axis) is its share. The last point repeats the last band's
  // density: a step is drawn from a point to the next one.
  const shares = cdf.slice(1).map(([, q], i) => q - (cdf[i]?.[1] ?? 0));
  const densities = shares.map((m, i) => {
    const from = cdf[i]?.[0] ?? 1;
    const to = cdf[i + 1]?.[0] ?? 1;
    return (m / Math.log10(to / from)) * 100;
  });
  const ys = [...densities, densities[densities.length - 1] ?? null];
  // Log scale for the density too: the tail, where the timeout sits, is what matters.
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...densities) / 2));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...densities) * 2));
  // Whole decades around the window and the timeout, so that the ticks fall on 1, 10, 100…
  const lo = 10 ** Math.floor(Math.log10(Math.min(xs[0] ?? 1, timeout) / 1.2));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(xs[xs.length - 1] ?? 1, timeout) * 1.2));
  const above = shareAbove(cdf, timeout);
  /** @type {UPlotOptions} */
  const opts = {
    width: chartWidth(el),
    height: 260,
    legend: { show: false },
    cursor: { show: false },
    scales: {
      x: { time: false, distr: 3, log: 10, range: () => [lo, hi] },
      y: { distr: 3, log: 10, range: () => [yLo, yHi] },
    },
    axes: [
      { ...msLogAxis(), size: 40 },
      {
        stroke: '#475569',
        size: 56,
        label: 'density (% per decade)',
        labelSize: 18,
        grid: { stroke: '#e2e8f0', filter: logSplits },
        ticks: { filter: logSplits },
        filter: logSplits,
        values: (_u, splits) => splits.map((v) => (v === null ? '' : `${+v.toPrecision(3)}`)),
      },
    ],
    series: [
      {},
      {
        label: 'window',
        stroke: COLORS.window,
        fill: 'rgba(100, 116, 139, 0.35)',
        fillTo: () => yLo,
        width: 1,
        paths: uPlot.paths.stepped?.({ align: 1 }),
        points: { show: false },
      },
    ],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const { top, height } = u.bbox;
          const dpr = window.devicePixelRatio || 1;
          ctx.save();
          ctx.font = `${12 * dpr}px system-ui, sans-serif`;
          // The median: the lower half of the window is not drawn (its minimum is unknown).
          const xm = u.valToPos(xs[0] ?? 1, 'x', true);
          ctx.strokeStyle = '#94a3b8';
          ctx.lineWidth = 1 * dpr;
          ctx.setLineDash([4 * dpr, 3 * dpr]);
          ctx.beginPath();
          ctx.moveTo(xm, top);
          ctx.lineTo(xm, top + height);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = '#475569';
          ctx.textAlign = 'left';
          ctx.fillText('p50', xm + 4 * dpr, top + 14 * dpr);
          // Each band's share of the window, over the band.
          ctx.textAlign = 'center';
          shares.forEach((m, i) => {
            const from = cdf[i]?.[0] ?? 1;
            const to = cdf[i + 1]?.[0] ?? 1;
            const x = u.valToPos(Math.sqrt(from * to), 'x', true);
            const y = u.valToPos(densities[i] ?? yLo, 'y', true);
            ctx.fillText(fmtShare(m), x, y - 5 * dpr);
          });
          // The timeout.
          const xt = u.valToPos(timeout, 'x', true);
          ctx.strokeStyle = COLORS.served;
          ctx.lineWidth = 2.5 * dpr;
          ctx.beginPath();
          ctx.moveTo(xt, top);
          ctx.lineTo(xt, top + height);
          ctx.stroke();
          ctx.fillStyle = COLORS.served;
          const right = xt > u.bbox.left + u.bbox.width * 0.7;
          ctx.textAlign = right ? 'right' : 'left';
          ctx.fillText(`timeout ${fmtMs(timeout)}`, xt + (right ? -6 : 6) * dpr, top + 14 * dpr);
          ctx.restore();
        },
      ],
    },
  };
  windowChart = new uPlot(opts, [xs, ys], el);
  note.textContent =
    `${(e.samples ?? 0).toLocaleString('en-US')} durations · p50 ${fmtMs(p?.p50)} · p90 ${fmtMs(p?.p90)} · ` +
    `p99 ${fmtMs(p?.p99)} · p99.9 ${fmtMs(p?.p999)} · max ${fmtMs(p?.max)}. ` +
    'The half below p50 is not drawn (the window’s minimum is not reported). ' +
    (above === null
      ? 'More than half of the window is above the timeout.'
      : above === 0
        ? 'No duration of the window is above the timeout.'
        : `About ${fmtShare(above)} of the window is above the timeout (target α ${fmtShare(e.alpha)}).`);
}

/** @param {HistoryPoint[]} points */
function renderResults(points) {
  const tbody = /** @type {HTMLElement} */ (byId('results').querySelector('tbody'));
  const rows = points
    .slice(-10)
    .reverse()
    .map((p) =>
      h(
        'tr',
        { class: p.ok ? '' : 'failed' },
        h('td', {}, ago(p.at)),
        h('td', {}, p.ok ? 'ok' : 'failed'),
        h('td', { class: 'num' }, fmtMs(p.computedMs)),
        h('td', { class: 'num' }, p.servedMs === null ? '–' : fmtExactMs(p.servedMs)),
        h('td', { class: 'num' }, p.samples === null ? '–' : String(p.samples)),
        h('td', { class: 'num' }, fmtMs(p.percentilesMs?.p99)),
        h('td', { class: 'error-text', title: p.error ?? undefined }, p.error ?? ''),
      ),
    );
  if (rows.length === 0) {
    rows.push(h('tr', {}, h('td', { colspan: '7', class: 'muted' }, 'No attempts yet.')));
  }
  tbody.replaceChildren(...rows);
}

async function renderDetail() {
  const body = byId('detail-body');
  const title = byId('detail-title');
  const e = state.endpoints.find((x) => x.endpoint === state.selected);
  byId('range-label').hidden = !e;
  if (!e) {
    body.hidden = true;
    title.textContent = state.selected
      ? `“${state.selected}” is not in the endpoint list`
      : 'Select an endpoint to see its history';
    byId('detail-status').replaceChildren();
    return;
  }
  body.hidden = false;
  title.textContent = e.endpoint;
  byId('detail-status').replaceChildren(statusBadge(e.status));
  byId('detail-facts').replaceChildren(
    ...[
      ['served', fmtExactMs(e.timeoutMs)],
      ['stored', e.storedMs === null ? '–' : fmtMs(e.storedMs)],
      ['strategy', e.strategy ?? '–'],
      ['method', e.method ?? '–'],
      ['α', String(e.alpha)],
      ['censored', e.censored === null ? '–' : String(e.censored)],
    ].map(([k, v]) =>
      h('span', { class: 'fact' }, h('span', { class: 'muted' }, `${k} `), v ?? ''),
    ),
    ...(e.lastError
      ? [h('span', { class: 'fact error-text' }, `last attempt failed: ${e.lastError}`)]
      : []),
  );
  byId('detail-reason').textContent = e.reason;
  const range = Number(/** @type {HTMLSelectElement} */ (byId('range')).value);
  const key = `${e.endpoint}\u0000${range}\u0000${e.attemptedAt ?? ''}`;
  if (key !== state.historyKey) {
    const sinceMs = Date.now() - range;
    const res = await getJson(
      `/v1/endpoints/${encodeURIComponent(e.endpoint)}/history?limit=${HISTORY_LIMIT}&sinceMs=${sinceMs}`,
    );
    state.history = /** @type {{ points: HistoryPoint[] }} */ (res).points;
    state.historyKey = key;
  }
  renderHistoryChart(state.history);
  renderWindowChart(e);
  renderResults(state.history);
}

// ---------------------------------------------------------------------------------------------
// Cycles and workers.

function renderCycles() {
  const last = state.cycles[state.cycles.length - 1];
  /** @type {[string, Node | string][]} */
  const facts = [];
  if (last) {
    facts.push(
      ['Last cycle', `#${last.cycle}`],
      ['Started', ago(last.startedAt)],
      ['Duration', fmtMs(last.durationMs)],
      [
        'Endpoints',
        last.skipped
          ? h('span', { class: 'warn-text' }, last.skipped)
          : h(
              'span',
              {},
              `${last.done} done · `,
              h('span', { class: last.failed > 0 ? 'error-text' : '' }, `${last.failed} failed`),
              ` of ${last.endpoints}`,
            ),
      ],
      ['Workers used', String(last.workersUsed)],
    );
  } else {
    facts.push(['Last cycle', 'none finished yet']);
  }
  facts.push([
    'Next cycle',
    state.nextCycleAt
      ? h(
          'time',
          { 'data-until': state.nextCycleAt, datetime: state.nextCycleAt },
          untilText(state.nextCycleAt, Date.now()),
        )
      : 'running now',
  ]);
  byId('cycle-facts').replaceChildren(
    ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
  const tbody = /** @type {HTMLElement} */ (byId('cycles').querySelector('tbody'));
  tbody.replaceChildren(
    ...state.cycles
      .slice(-8)
      .reverse()
      .map((c) =>
        h(
          'tr',
          { class: c.skipped ? 'skipped' : '', title: c.skipped },
          h('td', {}, String(c.cycle)),
          h('td', {}, ago(c.startedAt)),
          h('td', { class: 'num' }, fmtMs(c.durationMs)),
          h('td', { class: 'num' }, c.skipped ? '–' : String(c.done)),
          h(
            'td',
            { class: `num${c.failed > 0 ? ' error-text strong' : ''}` },
            c.skipped ? '–' : String(c.failed),
          ),
        ),
      ),
  );
}

function renderWorkers() {
  const tbody = /** @type {HTMLElement} */ (byId('workers').querySelector('tbody'));
  tbody.replaceChildren(
    ...state.workers.map((w) =>
      h(
        'tr',
        { title: `${w.id} (${w.protocol}, up to ${w.concurrency} jobs at once)` },
        h(
          'td',
          {},
          h('span', { class: 'worker-url' }, w.url),
          h('br'),
          w.busy
            ? h('span', { class: 'badge badge-busy' }, `busy ${w.inFlight}/${w.concurrency}`)
            : h('span', { class: 'badge badge-idle' }, 'idle'),
          ' ',
          h('span', { class: 'muted small' }, w.id.slice(0, 8)),
        ),
        h('td', {}, ago(w.lastHeartbeatAt)),
        h(
          'td',
          { class: 'num' },
          `${w.jobsDone} / `,
          h('span', { class: w.jobsFailed > 0 ? 'error-text' : '' }, String(w.jobsFailed)),
        ),
      ),
    ),
  );
  byId('workers-empty').hidden = state.workers.length > 0;
  byId('worker-count').textContent = String(state.workers.length);
}

// ---------------------------------------------------------------------------------------------
// The loop.

/** Updates every "… ago" and "in …" once a second. */
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll('[data-ago]')) {
    el.textContent = agoText(el.getAttribute('data-ago') ?? '', now);
  }
  for (const el of document.querySelectorAll('[data-until]')) {
    el.textContent = untilText(el.getAttribute('data-until') ?? '', now);
  }
  if (state.lastSuccessAt !== undefined) {
    byId('updated').textContent = state.paused
      ? 'updates paused'
      : `updated ${fmtDuration((now - state.lastSuccessAt) / 1000)} ago`;
  }
}

/** @param {string | null} message */
function banner(message) {
  const el = byId('banner');
  el.hidden = message === null;
  el.textContent = message ?? '';
}

/** Shows a field for the broker's read token in the banner. @param {string} why */
function askForToken(why) {
  const el = byId('banner');
  if (el.querySelector('form')) return; // already asking
  const input = /** @type {HTMLInputElement} */ (
    h('input', { type: 'password', 'aria-label': 'Read token', autocomplete: 'off' })
  );
  const form = h(
    'form',
    { class: 'token-form' },
    `${why[0]?.toUpperCase() ?? ''}${why.slice(1)} (--read-token). `,
    input,
    h('button', { type: 'submit' }, 'Use token'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (input.value) sessionStorage.setItem(TOKEN_KEY, input.value);
    el.replaceChildren();
    el.hidden = true;
    void loop();
  });
  el.replaceChildren(form);
  el.hidden = false;
  input.focus();
}

async function refresh() {
  try {
    const [endpoints, workers, cycles, ready] = await Promise.all([
      getJson('/v1/endpoints'),
      getJson('/v1/workers'),
      getJson('/v1/cycles'),
      getJson('/readyz'),
    ]);
    state.endpoints = /** @type {{ endpoints: EndpointView[] }} */ (endpoints).endpoints;
    state.workers = /** @type {{ workers: WorkerView[] }} */ (workers).workers;
    const c = /** @type {{ cycles: CycleSummary[], nextCycleAt: string | null }} */ (cycles);
    state.cycles = c.cycles;
    state.nextCycleAt = c.nextCycleAt;
    const r = /** @type {{ status: string }} */ (ready);
    const status = byId('broker-status');
    status.textContent = r.status === 'ready' ? 'broker ready' : 'broker not ready';
    status.className = `pill ${r.status === 'ready' ? 'pill-ok' : 'pill-bad'}`;
    byId('broker-counts').textContent =
      `${state.endpoints.length} endpoints · ${state.workers.length} workers`;
    renderEndpoints();
    renderCycles();
    renderWorkers();
    await renderDetail();
    state.lastSuccessAt = Date.now();
    banner(null);
    document.body.dataset.loaded = 'true';
    // How many refreshes have completed: tests wait on it, people can ignore it.
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes ?? 0) + 1);
  } catch (err) {
    const status = byId('broker-status');
    status.className = 'pill pill-bad';
    if (err instanceof NeedsTokenError) {
      status.textContent = 'token needed';
      askForToken(err.message);
      return;
    }
    status.textContent = 'broker unreachable';
    banner(
      `Cannot read the broker: ${err instanceof Error ? err.message : String(err)}. ` +
        'Showing the last data received; retrying.',
    );
  }
  tick();
}

/** @type {ReturnType<typeof setTimeout> | undefined} */ let timer;

async function loop() {
  clearTimeout(timer);
  if (!state.paused) await refresh();
  timer = setTimeout(() => void loop(), REFRESH_MS);
}

function select(/** @type {string} */ name) {
  state.selected = name;
  state.historyKey = '';
  if (selectedFromHash() !== name) location.hash = `#/endpoint/${encodeURIComponent(name)}`;
  renderEndpoints();
  void renderDetail().catch((err) => banner(`Cannot read the history: ${String(err)}`));
}

function wire() {
  const table = byId('endpoints');
  table.addEventListener('click', (ev) => {
    const target = /** @type {HTMLElement} */ (ev.target);
    const th = target.closest('th[data-key]');
    if (th) {
      const key = th.getAttribute('data-key') ?? 'endpoint';
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      renderEndpoints();
      return;
    }
    const tr = target.closest('tr[data-endpoint]');
    if (tr) select(tr.getAttribute('data-endpoint') ?? '');
  });
  table.addEventListener('keydown', (ev) => {
    const tr = /** @type {HTMLElement} */ (ev.target).closest('tr[data-endpoint]');
    if (tr && (ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      select(tr.getAttribute('data-endpoint') ?? '');
    }
  });
  for (const th of table.querySelectorAll('th[data-key]')) {
    th.setAttribute('tabindex', '0');
    th.addEventListener('keydown', (ev) => {
      if (/** @type {KeyboardEvent} */ (ev).key === 'Enter')
        /** @type {HTMLElement} */ (th).click();
    });
  }
  byId('filter').addEventListener('input', renderEndpoints);
  byId('status-filter').addEventListener('change', renderEndpoints);
  byId('range').addEventListener('change', () => {
    state.historyKey = '';
    void renderDetail();
  });
  const pause = byId('pause');
  pause.addEventListener('click', () => {
    state.paused = !state.paused;
    pause.textContent = state.paused ? 'Resume updates' : 'Pause updates';
    pause.setAttribute('aria-pressed', String(state.paused));
    if (!state.paused) void loop();
    tick();
  });
  window.addEventListener('hashchange', () => {
    const name = selectedFromHash();
    if (name !== null && name !== state.selected) select(name);
  });
  // Charts follow their container's width.
  new ResizeObserver(() => {
    for (const [chart, id] of /** @type {[UPlot | undefined, string][]} */ ([
      [historyChart, 'chart-history'],
      [windowChart, 'chart-window'],
    ])) {
      if (chart) chart.setSize({ width: chartWidth(byId(id)), height: chart.height });
    }
  }).observe(byId('detail'));
  setInterval(tick, 1000);
}

wire();
void loop();

export {};

// The backtest's HTML report in real headless Chromium: one file, offline, a chart per endpoint with a time axis, hover, toggles and shortened gaps.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { renderHtml } from '../../src/backtest/report-html.ts';
import { runBacktest } from '../../src/backtest/run.ts';
import { DEFAULT_SERVING } from '../../src/core/serving.ts';
import { REPO_ROOT } from '../helpers/processes.ts';
import { chromiumSkip, launchChromium } from './chromium.ts';

// What the callbacks run in the page use of its globals (the project's TypeScript lib has no DOM).
interface ChartEntry {
  endpoint: string;
  xLabels: string[];
  breaks: { fromMs: number; toMs: number }[];
  chart: {
    series: { label?: string; show?: boolean }[];
    scales: { x: { min?: number; max?: number } };
    data: unknown[][];
  };
}
declare const window: { jitCharts?: ChartEntry[] };
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
};

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const STRATEGIES = ['sigma', 'quantile', 'rto'];
const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);

/** Deterministic log-normal-ish durations, 2 requests/s for `minutes`, from `startMs`. */
function traffic(startMs: number, minutes: number, seed: number) {
  let s = seed;
  const rand = () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const n = minutes * 120;
  return {
    timestampsMs: Array.from({ length: n }, (_, i) => startMs + i * 500),
    durationsMs: Array.from(
      { length: n },
      () =>
        50 *
        Math.exp(0.6 * Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand())),
    ),
  };
}

describe('backtest HTML report in headless Chromium', { skip: chromiumSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-report-'));
  let browser: Browser;
  let page: Page;
  const offsite: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    // `api`: 30 min of traffic, 4 h of silence, 30 min more; `db`: one continuous hour.
    const a1 = traffic(T0, 30, 1);
    const a2 = traffic(T0 + 30 * 60_000 + 4 * 3_600_000, 30, 2);
    const b = traffic(T0, 60, 3);
    const { report, charts } = await runBacktest(
      [
        {
          endpoint: 'api <GET>',
          timestampsMs: Float64Array.from([...a1.timestampsMs, ...a2.timestampsMs]),
          durationsMs: Float64Array.from([...a1.durationsMs, ...a2.durationsMs]),
        },
        {
          endpoint: 'db',
          timestampsMs: Float64Array.from(b.timestampsMs),
          durationsMs: Float64Array.from(b.durationsMs),
        },
      ],
      {
        alpha: 0.01,
        recomputeMs: 60_000,
        recomputeEvery: undefined,
        windowHours: 48,
        windowLimit: 5000,
        warmupCount: 100,
        serving: { ...DEFAULT_SERVING },
        censor: false,
        strategies: STRATEGIES,
        defaultStrategy: 'quantile',
      },
    );
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report, charts));

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // One self-contained file: anything but the file itself is refused and recorded.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url === pathToFileURL(file).href || url.startsWith('data:')) return route.continue();
      offsite.push(url);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => (window.jitCharts?.length ?? 0) === 2);
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws one chart per endpoint with the durations and one series per strategy', async () => {
    assert.equal(await page.locator('.plot canvas').count(), 2);
    const labels = await page.evaluate(() =>
      (window.jitCharts ?? []).map((c) => c.chart.series.map((s) => s.label)),
    );
    for (const l of labels) assert.deepEqual(l, ['time (UTC)', 'durations', ...STRATEGIES]);
    // Every strategy has values to draw (not a blank line).
    const drawn = await page.evaluate(() =>
      (window.jitCharts ?? []).map((c) =>
        c.chart.data.slice(2).map((ys) => ys.filter((v) => typeof v === 'number').length),
      ),
    );
    for (const counts of drawn) for (const n of counts) assert.ok(n > 100, `${n} values`);
    // The tables are still there: overall and one per endpoint.
    assert.equal(await page.locator('table:not(.u-legend)').count(), 3);
    assert.match((await page.locator('h2').allTextContents()).join('|'), /api <GET>\|db/);
  });

  it('labels the x axis with trace times (UTC), and says the time under the cursor', async () => {
    const xLabels = await page.evaluate(() => window.jitCharts?.[1]?.xLabels ?? []);
    assert.ok(xLabels.length >= 3, `labels ${xLabels.join(',')}`);
    for (const l of xLabels) assert.match(l, /^(09|10):\d\d:\d\d$/);
    const over = page.locator('#chart-1 .u-over');
    await over.scrollIntoViewIfNeeded();
    const box = await over.boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const legend = page.locator('#chart-1 .u-legend .u-series');
    const time = (await legend.nth(0).locator('.u-value').textContent()) ?? '';
    assert.match(time, /^2026-12-02 09:[23]\d:\d\d$/);
    // The value of every strategy at the cursor.
    for (let i = 2; i < 2 + STRATEGIES.length; i++) {
      assert.match((await legend.nth(i).locator('.u-value').textContent()) ?? '', /^\d+ ms$/);
    }
  });

  it('shortens the 4 h silence to a marked break', async () => {
    const info = await page.evaluate(() => {
      const c = window.jitCharts?.[0];
      const x = c?.chart.data[0] as number[];
      return {
        breaks: c?.breaks ?? [],
        drawnMs: (x[x.length - 1] ?? 0) - (x[0] ?? 0),
        note: document.querySelector('#chart-0-note')?.textContent ?? '',
      };
    });
    assert.equal(info.breaks.length, 1);
    assert.ok((info.breaks[0]?.toMs ?? 0) - (info.breaks[0]?.fromMs ?? 0) >= 4 * 3_600_000);
    assert.ok(info.drawnMs < 70 * 60_000, `${info.drawnMs} ms of axis for 5 h of trace`);
    assert.match(
      info.note,
      /Shortened: 2026-12-02 09:29:5\d → 2026-12-02 13:30:00 \(4 h(?: 0 min)? without requests\)/,
    );
  });

  it('hides and shows a strategy from its legend entry', async () => {
    const entry = page.locator('#chart-0 .u-legend .u-series').nth(3); // quantile
    assert.equal(await entry.locator('.u-label').textContent(), 'quantile');
    await entry.click();
    assert.equal(await page.evaluate(() => window.jitCharts?.[0]?.chart.series[3]?.show), false);
    assert.match((await entry.getAttribute('class')) ?? '', /u-off/);
    // The other strategies stay drawn.
    assert.deepEqual(
      await page.evaluate(() => window.jitCharts?.[0]?.chart.series.map((s) => s.show)),
      [true, true, true, false, true],
    );
    await entry.click();
    assert.equal(await page.evaluate(() => window.jitCharts?.[0]?.chart.series[3]?.show), true);
  });

  it('zooms on a drag and resets on a double-click', async () => {
    const over = page.locator('#chart-1 .u-over');
    await over.scrollIntoViewIfNeeded();
    const box = await over.boundingBox();
    assert.ok(box);
    const range = () =>
      page.evaluate(() => {
        const x = window.jitCharts?.[1]?.chart.scales.x;
        return (x?.max ?? 0) - (x?.min ?? 0);
      });
    const full = await range();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const zoomed = await range();
    assert.ok(zoomed < full * 0.4, `zoomed ${zoomed} of ${full}`);
    await over.dblclick();
    assert.ok(Math.abs((await range()) - full) < full * 0.01);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'backtest-report.png'), fullPage: true });
  });

  it('requested nothing beyond the file and raised no error', () => {
    assert.deepEqual(offsite, []);
    assert.deepEqual(pageErrors, []);
  });
});

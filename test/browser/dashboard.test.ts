// The dashboard in real headless Chromium, against a real broker and two real workers.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';
import { REPO_ROOT } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';
import { chromiumSkip, launchChromium } from './chromium.ts';
import { driftingSource } from './drifting-source.ts';

// What the callbacks run in the page use of its globals (the project's TypeScript lib has no DOM).
declare const window: {
  getComputedStyle(el: unknown): { backgroundColor: string };
  getSelection(): { toString(): string; removeAllRanges(): void; addRange(r: unknown): void };
  __xss?: number;
};
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { left: number; right: number };
  scrollLeft: number;
  scrollWidth: number;
  clientWidth: number;
  firstChild: unknown;
  /** A mark a test sets on an element, to recognise the same node later. */
  __mark?: string;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  activeElement: PageElement | null;
  body: { dataset: Record<string, string | undefined> };
  documentElement: { scrollWidth: number; clientWidth: number };
  createRange(): { selectNodeContents(node: unknown): void };
};
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  } | null;
}

/** Screenshots land here (git-ignored), for people to look at. */
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const HOSTILE = '<img src=x onerror="window.__xss=1"> & "quoted"';
const ENDPOINTS = [
  'customer | strategy=adaptive',
  'order | strategy=quantile alpha=0.01',
  'route | strategy=sigma',
  'driver | strategy=rto',
  'flaky | strategy=quantile',
  HOSTILE,
];
/** Table rows: the list's endpoints and `ghost` (put in the store directly, see `before`). */
const ROWS = ENDPOINTS.length + 1;
/** The served-timeout line of the history chart (COLORS.served in app.js): rgb(29, 78, 216). */
const SERVED_RGB: [number, number, number] = [29, 78, 216];

describe('dashboard in headless Chromium', { skip: chromiumSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-dashboard-'));
  const source = driftingSource();
  let broker: RunningBroker;
  let workers: RunningWorker[] = [];
  let browser: Browser;
  let page: Page;
  const offsite: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    const endpointsFile = join(dir, 'endpoints.config');
    writeFileSync(endpointsFile, `${ENDPOINTS.join('\n')}\n`);
    broker = await startBroker(
      brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 600_000, callTimeoutMs: 5000 }),
      { logger: false },
    );
    // Never computed: no worker knows this strategy, every attempt fails. (The list file refuses
    // such a name, so it goes into the store directly.)
    broker.store.upsertEndpoint({ name: 'ghost', options: { strategy: 'no-such-strategy' } });
    workers = await Promise.all(
      [0, 1].map(() =>
        startWorker(
          workerConfig({ port: 0, brokerUrl: broker.url, heartbeatMs: 60_000, concurrency: 2 }),
          { logger: false, source },
        ),
      ),
    );
    await waitFor(() => broker.registry.size === 2, 10_000, { message: 'two workers registered' });
    // A history to draw: cycles a little apart, the latency level drifting between them.
    for (let i = 0; i < 30; i++) {
      await broker.cycles.runCycle();
      await new Promise((r) => setTimeout(r, 40));
    }
    // Then the source fails for `flaky`: it keeps its value and turns stale.
    source.failing.add('flaky');
    await broker.cycles.runCycle();
    assert.equal(broker.store.get('flaky')?.status, 'stale');
    assert.equal(broker.store.get('customer')?.status, 'fresh');
    assert.equal(broker.store.get('ghost')?.status, 'never');

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    // Works offline: anything but the broker itself is refused and recorded.
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.origin === new URL(broker.url).origin || url.protocol === 'data:') {
        return route.continue();
      }
      offsite.push(url.href);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
  });

  after(async () => {
    await browser?.close();
    for (const w of workers) await w.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = () => page.locator('#endpoints tbody tr');
  const row = (name: string) => page.locator(`#endpoints tbody tr[data-endpoint="${name}"]`);

  it('loads the endpoints, workers and cycles of the running broker', async () => {
    await page.goto(`${broker.url}/?refresh=1000`);
    await page.locator('body[data-loaded="true"]').waitFor({ timeout: 15_000 });
    assert.equal(await rows().count(), ROWS);
    const names = await page.locator('#endpoints tbody td.name').allTextContents();
    assert.deepEqual(
      [...names].sort(),
      ['customer', 'order', 'route', 'driver', 'flaky', 'ghost', HOSTILE].sort(),
    );
    // The served timeout in the table is the broker's, to the millisecond.
    const served = (await (await fetch(`${broker.url}/v1/timeouts/customer`)).json()) as {
      timeoutMs: number;
    };
    const cell = await row('customer').locator('td').nth(2).textContent();
    assert.equal(cell, `${served.timeoutMs.toLocaleString('en-US')} ms`);
    assert.equal(await page.locator('#workers tbody tr').count(), 2);
    const last = broker.cycles.last?.cycle;
    assert.match((await page.locator('#cycle-facts').textContent()) ?? '', new RegExp(`#${last}`));
    assert.match((await page.locator('#broker-status').textContent()) ?? '', /ready/);
  });

  it('marks the stale endpoint visibly, and the never-computed one', async () => {
    const stale = row('flaky');
    assert.match((await stale.getAttribute('class')) ?? '', /status-stale/);
    assert.match((await stale.locator('.badge').textContent()) ?? '', /stale/);
    const background = (name: string) =>
      row(name).evaluate((el) => window.getComputedStyle(el).backgroundColor);
    assert.notEqual(await background('flaky'), await background('customer'));
    assert.notEqual(await background('flaky'), 'rgba(0, 0, 0, 0)');
    assert.match((await stale.getAttribute('title')) ?? '', /outage \(test\)/);
    assert.match((await row('ghost').locator('.badge').textContent()) ?? '', /never/);
    // Sorted by status by default: problems first.
    assert.equal(await rows().first().getAttribute('data-endpoint'), 'flaky');
  });

  it('shows endpoint names as text, never as markup', async () => {
    assert.equal(await page.locator('#endpoints tbody img').count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
  });

  it('sorts and filters the table', async () => {
    await page.locator('#endpoints th[data-key="timeoutMs"]').click();
    const values = async () =>
      (await page.locator('#endpoints tbody td:nth-child(3)').allTextContents()).map((t) =>
        Number(t.replace(/[^\d.]/g, '')),
      );
    const asc = await values();
    assert.deepEqual(
      asc,
      [...asc].sort((a, b) => a - b),
    );
    await page.locator('#endpoints th[data-key="timeoutMs"]').click();
    const desc = await values();
    assert.deepEqual(
      desc,
      [...desc].sort((a, b) => b - a),
    );
    await page.locator('#filter').fill('fla');
    assert.equal(await rows().count(), 1);
    await page.locator('#filter').fill('');
    await page.locator('#status-filter').selectOption('never');
    assert.deepEqual(await page.locator('#endpoints tbody td.name').allTextContents(), ['ghost']);
    await page.locator('#status-filter').selectOption('');
    assert.equal(await rows().count(), ROWS);
  });

  it('draws the chart of an endpoint when it is clicked', async () => {
    await row('customer').click();
    await page.locator('#chart-history canvas').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#detail-title').textContent(), 'customer');
    assert.match(page.url(), /#\/endpoint\/customer$/);
    // The served-timeout line is drawn: count pixels of its colour on the chart's canvas.
    const servedPixels = await page
      .locator('#chart-history canvas')
      .evaluate((el: unknown, rgb: [number, number, number]) => {
        const canvas = el as Canvas;
        const ctx = canvas.getContext('2d');
        if (!ctx) return 0;
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
          const close =
            Math.abs((data[i] ?? 0) - rgb[0]) < 40 &&
            Math.abs((data[i + 1] ?? 0) - rgb[1]) < 40 &&
            Math.abs((data[i + 2] ?? 0) - rgb[2]) < 40 &&
            (data[i + 3] ?? 0) > 200;
          if (close) n++;
        }
        return n;
      }, SERVED_RGB);
    assert.ok(servedPixels > 300, `only ${servedPixels} pixels of the served-timeout line`);
    // The latest window's histogram is drawn too, with the timeout marked.
    await page.locator('#chart-window canvas').waitFor();
    assert.match((await page.locator('#window-note').textContent()) ?? '', /above the timeout/);
    assert.equal(await page.locator('#results tbody tr').count(), 10);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    // A smaller laptop screen: the charts stack, nothing overflows the page.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-1280.png'), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 1280, `page is ${overflow} px wide at 1280`);
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('says why each value is what it is: in the detail, on the row and on the chart’s hover', async () => {
    await row('order').click();
    await page.waitForFunction(
      () => document.querySelector('#detail-title')?.textContent === 'order',
    );
    const reason = (await page.locator('#detail-reason').textContent()) ?? '';
    // `order` is the quantile strategy at α = 0.01: its words, then the broker's margin.
    assert.match(
      reason,
      /^p99 (extrapolated .* from [\d ]+ calls|of [\d ]+ calls) .*, \+10 % margin = [\d.]+ m?s$/,
    );
    assert.equal(await row('order').getAttribute('title'), `why: ${reason}`);
    const chart = page.locator('#chart-history .u-over');
    await chart.waitFor({ timeout: 10_000 });
    const hint = (await page.locator('#history-reason').textContent()) ?? '';
    assert.match(hint, /^Hover the chart/);
    const box = await chart.boundingBox();
    assert.ok(box, 'the chart has a box');
    // The newest computation is at the right edge: its reason is the one the view shows.
    await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
    await page.waitForFunction(
      () => !/^Hover/.test(document.querySelector('#history-reason')?.textContent ?? 'Hover'),
    );
    const hovered = (await page.locator('#history-reason').textContent()) ?? '';
    assert.ok(hovered.endsWith(`: ${reason}`), `hover says "${hovered}", the view "${reason}"`);
    // An older computation has its own reason (the level drifts between cycles).
    await page.mouse.move(box.x + 3, box.y + box.height / 2);
    await page.waitForFunction(
      (latest: string) => (document.querySelector('#history-reason')?.textContent ?? '') !== latest,
      hovered,
    );
    assert.match(
      (await page.locator('#history-reason').textContent()) ?? '',
      /: p99 .*\+10 % margin = /,
    );
    await page.mouse.move(0, 0);
  });

  it('shows the stale endpoint’s failed attempts in its detail', async () => {
    await row('flaky').click();
    await page.waitForFunction(
      () => document.querySelector('#detail-title')?.textContent === 'flaky',
    );
    await page.locator('#results tbody tr.failed').first().waitFor();
    assert.match((await page.locator('#detail-facts').textContent()) ?? '', /last attempt failed/);
    assert.match(
      (await page.locator('#detail-reason').textContent()) ?? '',
      /^last computation failed; still serving the previous value: /,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-stale.png'), fullPage: true });
  });

  it('refreshes itself', async () => {
    const before = broker.cycles.last?.cycle ?? 0;
    await broker.cycles.runCycle();
    await page.waitForFunction(
      (n) => document.querySelector('#cycle-facts')?.textContent?.includes(`#${n}`) ?? false,
      before + 1,
      { timeout: 5000 },
    );
  });

  /** Resolves once the page has completed `n` more refreshes (body[data-refreshes]). */
  const refreshes = async (n: number) => {
    const now = await page.evaluate(() => Number(document.body.dataset.refreshes ?? 0));
    await page.waitForFunction(
      (target) => Number(document.body.dataset.refreshes ?? 0) >= target,
      now + n,
      { timeout: 15_000 },
    );
  };
  /** Presses Tab until the focused element matches `selector`; fails after 40 presses. */
  const tabTo = async (selector: string) => {
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const hit = await page.evaluate(
        (sel) =>
          document.activeElement !== null && document.querySelector(sel) === document.activeElement,
        selector,
      );
      if (hit) return;
    }
    assert.fail(`Tab never reached ${selector}`);
  };
  const markFocused = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      if (el) el.__mark = 'focused by Tab';
    });
  const focusedMark = () => page.evaluate(() => document.activeElement?.__mark ?? null);
  const rowIndex = (name: string) =>
    page
      .locator('#endpoints tbody tr')
      .evaluateAll(
        (trs: unknown[], n: string) =>
          trs.findIndex((tr) => (tr as PageElement).getAttribute('data-endpoint') === n),
        name,
      );

  it('keeps the keyboard focus on a row across refreshes, even when the row moves', async () => {
    await page.goto(`${broker.url}/?refresh=1000`);
    await page.locator('body[data-loaded="true"]').waitFor({ timeout: 15_000 });
    await page.locator('#filter').focus();
    await tabTo('#endpoints tbody tr[data-endpoint="customer"]');
    await markFocused();
    const before = await rowIndex('customer');
    // customer turns stale: sorted by status, it moves up among the problems.
    source.failing.add('customer');
    try {
      await broker.cycles.runCycle();
      await refreshes(2);
      assert.equal(await focusedMark(), 'focused by Tab', 'the same row element keeps the focus');
      assert.match((await row('customer').getAttribute('class')) ?? '', /status-stale/);
      assert.notEqual(await rowIndex('customer'), before, 'the row moved');
      // The keyboard still works on it.
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () => document.querySelector('#detail-title')?.textContent === 'customer',
      );
    } finally {
      source.failing.delete('customer');
      await broker.cycles.runCycle();
    }
  });

  it('keeps the keyboard focus on a sort header across refreshes', async () => {
    await page.locator('#filter').focus();
    await tabTo('#endpoints th[data-key="timeoutMs"]');
    await page.keyboard.press('Enter'); // sorts by timeout
    await markFocused();
    await broker.cycles.runCycle();
    await refreshes(2);
    assert.equal(await focusedMark(), 'focused by Tab');
    assert.equal(
      await page.locator('#endpoints th[data-key="timeoutMs"]').getAttribute('aria-sort'),
      'ascending',
    );
  });

  it('keeps a text selection in the table across refreshes', async () => {
    await page.evaluate(() => {
      const cell = document.querySelector('#endpoints tbody tr[data-endpoint="route"] td.name');
      const range = document.createRange();
      range.selectNodeContents(cell?.firstChild);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    });
    await broker.cycles.runCycle();
    await refreshes(2);
    assert.equal(await page.evaluate(() => window.getSelection().toString()), 'route');
  });

  it('fits a phone screen: no sideways page scroll; the table scrolls in its own box', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 667 } });
    try {
      const small = await phone.newPage();
      await small.goto(`${broker.url}/?refresh=1000#/endpoint/customer`);
      await small.locator('body[data-loaded="true"]').waitFor({ timeout: 15_000 });
      await small.locator('#results tbody tr').first().waitFor();
      const screen = await small.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      mkdirSync(ARTIFACTS, { recursive: true });
      await small.screenshot({ path: join(ARTIFACTS, 'dashboard-375.png'), fullPage: true });
      assert.ok(
        screen.scrollWidth <= screen.clientWidth,
        `the page is ${screen.scrollWidth} px wide on a ${screen.clientWidth} px screen`,
      );
      // Every column of the table can be reached: scrolled to its end, the last one is on screen.
      const last = await small.evaluate(() => {
        const wrap = document.querySelector('#endpoints-panel .table-wrap');
        if (!wrap) return null;
        const scrolls = wrap.scrollWidth > wrap.clientWidth;
        wrap.scrollLeft = wrap.scrollWidth;
        const th = document.querySelector('#endpoints th[data-key="computedAt"]');
        const r = th?.getBoundingClientRect();
        return { scrolls, left: r?.left ?? -1, right: r?.right ?? Infinity };
      });
      assert.ok(last, 'the table is in a scrolling box');
      assert.ok(last.scrolls, 'the table is wider than the screen and scrolls in its box');
      assert.ok(
        last.left >= 0 && last.right <= screen.clientWidth,
        `the last column is at ${last.left}–${last.right} px`,
      );
    } finally {
      await phone.close();
    }
  });

  it('serves the API docs page from the broker, offline', async () => {
    await page.goto(`${broker.url}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
    assert.ok((await page.locator('.opblock').count()) >= 15);
  });

  it('requested nothing from other hosts and raised no error', () => {
    assert.deepEqual(offsite, []);
    assert.deepEqual(pageErrors, []);
  });
});

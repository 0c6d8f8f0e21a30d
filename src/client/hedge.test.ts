// Hedged requests of the client SDK against real slow HTTP servers on 127.0.0.1: delay, winner, aborted loser, methods, budget.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import { startSlowServer, type SlowServer } from '../../test/helpers/slow-server.ts';
import {
  createTimeoutClient,
  EndpointTimeoutError,
  type TimeoutClient,
  type TimeoutClientOptions,
} from './index.ts';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

/**
 * A broker stand-in on 127.0.0.1 answering `GET /v1/endpoints` with `list` (the real broker is in
 * test/integration/client-hedge.test.ts); it closes after the tests.
 */
let brokerUrl = '';
let brokerList: unknown[] = [];
const broker: Server = createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ endpoints: brokerList }));
});
after(
  () =>
    new Promise<void>((r) => {
      broker.closeAllConnections();
      broker.close(() => r());
    }),
);

async function client(options: Partial<TimeoutClientOptions> = {}): Promise<TimeoutClient> {
  if (brokerUrl === '') {
    await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
    brokerUrl = `http://127.0.0.1:${(broker.address() as AddressInfo).port}`;
  }
  const c = createTimeoutClient({
    brokerUrl,
    refreshMs: 60_000,
    logger: null,
    fallbackMs: 5000,
    ...options,
  });
  open.push(c);
  await c.ready();
  return c;
}

async function slow(delayFor: (n: number) => number): Promise<SlowServer> {
  const s = await startSlowServer(delayFor);
  open.push(s);
  return s;
}

describe('hedged requests against a real slow server', () => {
  it('sends the backup only after the delay, and the faster backup wins; the loser is aborted', async () => {
    const s = await slow((n) => (n === 0 ? 2000 : 10));
    const c = await client();
    const started = performance.now();
    const res = await c.fetch('svc', `${s.url}/x`, { hedge: { delayMs: 150 } });
    assert.equal(await res.text(), 'answer 1', 'the backup answered');
    const [first, second] = s.requests;
    assert.ok(first && second);
    // From the call, not from the first request's arrival (which waits for a connection).
    const after = second.arrivedAt - started;
    assert.ok(
      after >= 150,
      `the backup arrived ${after.toFixed(1)} ms after the call, not before 150`,
    );
    const loser = await s.settled(0);
    assert.ok(loser.closedEarlyAt !== undefined, 'the server saw the loser’s connection closed');
    assert.equal(loser.answeredAt, undefined);
    assert.ok(loser.closedEarlyAt - first.arrivedAt < 1500, 'closed when the backup won');
    assert.deepEqual(c.metrics(), {
      requests: 1,
      hedgesSent: 1,
      hedgesWon: 1,
      budgetDenied: 0,
      retriesAllowed: 0,
    });
  });

  it('sends no backup when the answer comes before the delay', async () => {
    const s = await slow(() => 30);
    const c = await client();
    const res = await c.fetch('svc', s.url, { hedge: { delayMs: 200 } });
    assert.equal(await res.text(), 'answer 0');
    await new Promise((r) => setTimeout(r, 300)); // past the delay: the timer must be gone
    assert.equal(s.requests.length, 1);
    assert.equal(c.metrics().hedgesSent, 0);
  });

  it('the original wins when it answers before the backup; the backup is aborted', async () => {
    // Original answers at 300 ms; the backup, sent at 100 ms, would answer at 100 + 1000.
    const s = await slow((n) => (n === 0 ? 300 : 1000));
    const c = await client();
    const res = await c.fetch('svc', s.url, { hedge: { delayMs: 100 } });
    assert.equal(await res.text(), 'answer 0');
    assert.equal(s.requests.length, 2, 'the backup was sent');
    const loser = await s.settled(1);
    assert.ok(loser.closedEarlyAt !== undefined, 'the backup’s connection was closed');
    assert.deepEqual(
      [c.metrics().hedgesSent, c.metrics().hedgesWon],
      [1, 0],
      'sent one, the original won',
    );
  });

  it('maxHedges sends further backups, one delay apart', async () => {
    const s = await slow((n) => (n < 2 ? 3000 : 5));
    // A reserve for both backups (the default, 1 a second, pays for one: see the budget tests).
    const c = await client({ retryBudget: { minPerSecond: 10 } });
    const started = performance.now();
    const res = await c.fetch('svc', s.url, { hedge: { delayMs: 80, maxHedges: 2 } });
    assert.equal(await res.text(), 'answer 2');
    const t = s.requests.map((r) => r.arrivedAt - started);
    assert.equal(t.length, 3);
    assert.ok(
      (t[1] ?? 0) >= 80 && (t[2] ?? 0) >= 160,
      `arrivals ${t.join(', ')} ms after the call`,
    );
    await Promise.all([s.settled(0), s.settled(1)]);
    assert.ok(s.requests.slice(0, 2).every((r) => r.closedEarlyAt !== undefined));
  });

  it('does not hedge POST (not idempotent) by default, nor a streamed body; methods opts in', async () => {
    const s = await slow(() => 400);
    const c = await client();
    const post = await c.fetch('svc', s.url, { method: 'POST', body: 'x', hedge: { delayMs: 50 } });
    assert.equal(await post.text(), 'answer 0 x');
    assert.equal(s.requests.length, 1, 'a POST is sent once');
    const stream = new ReadableStream({
      start(ctl) {
        ctl.enqueue(new TextEncoder().encode('s'));
        ctl.close();
      },
    });
    const put = await c.fetch('svc', s.url, {
      method: 'PUT',
      body: stream,
      duplex: 'half',
      hedge: { delayMs: 50 },
    });
    assert.equal(await put.text(), 'answer 1 s');
    assert.equal(s.requests.length, 2, 'a streamed body cannot be sent twice');
    const again = await c.fetch('svc', s.url, {
      method: 'POST',
      body: 'y',
      hedge: { delayMs: 50, methods: ['POST'] },
    });
    assert.match(await again.text(), /^answer [23] y$/);
    assert.equal(s.requests.length, 4, 'a POST is hedged when its method is listed');
    assert.equal(c.metrics().hedgesSent, 1);
  });

  it('hedges a Request with a body: every attempt carries it', async () => {
    const s = await slow((n) => (n === 0 ? 2000 : 10));
    const c = await client();
    const req = new Request(s.url, { method: 'PUT', body: 'payload' });
    const res = await c.fetch('svc', req, { hedge: { delayMs: 60 } });
    assert.equal(await res.text(), 'answer 1 payload');
    await s.settled(0);
    assert.deepEqual(
      s.requests.map((r) => [r.method, r.body]),
      [
        ['PUT', 'payload'],
        ['PUT', 'payload'],
      ],
    );
  });

  it('the endpoint timeout still cuts the whole hedged call, and both attempts', async () => {
    const s = await slow(() => 5000);
    const c = await client({ fallbackMs: 300 });
    const started = performance.now();
    await assert.rejects(
      c.fetch('svc', s.url, { hedge: { delayMs: 100 } }),
      (err: unknown) => err instanceof EndpointTimeoutError && err.timeoutMs === 300,
    );
    const took = performance.now() - started;
    assert.ok(took >= 295 && took < 2000, `cut after ${took.toFixed(0)} ms`);
    const both = await Promise.all([s.settled(0), s.settled(1)]);
    assert.ok(both.every((r) => r.closedEarlyAt !== undefined));
  });

  it('a caller’s abort cuts every attempt with the caller’s reason', async () => {
    const s = await slow(() => 5000);
    const c = await client();
    const ctl = new AbortController();
    const p = c.fetch('svc', s.url, { hedge: { delayMs: 50 }, signal: ctl.signal });
    await new Promise((r) => setTimeout(r, 150));
    ctl.abort(new Error('caller gave up'));
    await assert.rejects(p, /caller gave up/);
    const both = await Promise.all([s.settled(0), s.settled(1)]);
    assert.ok(both.every((r) => r.closedEarlyAt !== undefined));
  });

  it('hedge: true uses the broker’s hedgeMs, and does not hedge an endpoint without one', async () => {
    brokerList = [
      { endpoint: 'known', timeoutMs: 5000, hedgeMs: 120, status: 'fresh' },
      { endpoint: 'nop95', timeoutMs: 5000, hedgeMs: null, status: 'fresh' },
    ];
    const c = await client({ hedge: true });
    assert.equal(c.hedgeFor('known'), 120);
    assert.equal(c.hedgeFor('nop95'), undefined);
    assert.deepEqual(c.status().hedges, { known: 120 });
    const s = await slow((n) => (n === 0 ? 2000 : 5));
    const started = performance.now();
    assert.equal(await (await c.fetch('known', s.url)).text(), 'answer 1');
    const after = (s.requests[1]?.arrivedAt ?? 0) - started;
    assert.ok(after >= 120, `backup after ${after.toFixed(1)} ms (hedgeMs 120)`);
    const t = await slow(() => 300);
    assert.equal(await (await c.fetch('nop95', t.url)).text(), 'answer 0');
    assert.equal(t.requests.length, 1, 'no hedgeMs, no hedge');
    assert.equal(await (await c.fetch('known', t.url, { hedge: false })).text(), 'answer 1');
    assert.equal(t.requests.length, 2, 'hedge: false on the call overrides the client');
    brokerList = [];
  });

  it('rejects bad hedge options: at creation for the client’s, as a rejected call for a call’s', async () => {
    assert.throws(
      () => createTimeoutClient({ brokerUrl: 'http://127.0.0.1:9', hedge: { delayMs: -1 } }),
      TypeError,
    );
    assert.throws(
      () => createTimeoutClient({ brokerUrl: 'http://127.0.0.1:9', retryBudget: { ratio: 2 } }),
      TypeError,
    );
    const c = await client();
    await assert.rejects(
      c.fetch('svc', 'http://127.0.0.1:9', { hedge: { maxHedges: 9 } }),
      TypeError,
    );
  });
});

describe('tryRetry: the caller’s retries share the endpoint’s budget with the hedges', () => {
  it('allows a retry per 1/ratio calls, per endpoint, and a hedge spends the same tokens', async () => {
    const s = await slow((n) => (n === 3 ? 2000 : 5));
    const c = await client({ retryBudget: { ratio: 0.5, minPerSecond: 0 } });
    assert.equal(c.tryRetry('a'), false, 'no call yet, no reserve');
    await (await c.fetch('a', s.url)).text();
    await (await c.fetch('a', s.url)).text();
    assert.equal(c.tryRetry('b'), false, 'another endpoint has its own budget');
    assert.equal(c.tryRetry('a'), true, 'two calls × 0.5 = one token');
    assert.equal(c.tryRetry('a'), false, 'spent');
    // Two more calls' worth of tokens: the second (slow) call's hedge takes it, leaving no retry.
    await (await c.fetch('a', s.url)).text();
    const res = await c.fetch('a', s.url, { hedge: { delayMs: 50 } });
    assert.equal(await res.text(), 'answer 4', 'the hedge was paid for and won');
    assert.equal(c.tryRetry('a'), false, 'the hedge spent what the calls deposited');
    await (await c.fetch('a', s.url)).text();
    await (await c.fetch('a', s.url)).text();
    assert.equal(c.tryRetry('a'), true);
    assert.deepEqual(c.metrics(), {
      requests: 6,
      hedgesSent: 1,
      hedgesWon: 1,
      budgetDenied: 4,
      retriesAllowed: 2,
    });
  });
});

describe('the retry budget caps extra load during an outage (measured)', () => {
  it('N requests that are all slow make at most N × (1 + ratio) + minPerSecond × (s + 1) upstream calls', async (t) => {
    const n = 1000;
    const ratio = 0.1;
    const minPerSecond = 1;
    const concurrency = 50;
    // The outage: every answer takes 60 ms, far past the 10 ms hedge delay, so every call wants a
    // backup; only the budget stands between the service and twice the load.
    const s = await slow(() => 60);
    const c = await client({ retryBudget: { ratio, minPerSecond } });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          const res = await c.fetch('down', s.url, { hedge: { delayMs: 10 } });
          await res.text();
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    // Losers still in flight are counted: they reached the server.
    const upstream = s.requests.length;
    const bound = n * (1 + ratio) + minPerSecond * (Math.ceil(seconds) + 1);
    const m = c.metrics();
    t.diagnostic(
      `measured: ${n} calls -> ${upstream} upstream calls (extra load ${((upstream / n - 1) * 100).toFixed(1)} %, ` +
        `hedges sent ${m.hedgesSent}, denied ${m.budgetDenied}, won ${m.hedgesWon}) in ${seconds.toFixed(2)} s; ` +
        `bound ${bound.toFixed(0)} (ratio ${ratio}, minPerSecond ${minPerSecond})`,
    );
    assert.equal(m.requests, n);
    // A backup aborted before its connection was made never reaches the server.
    assert.ok(upstream <= n + m.hedgesSent, 'every upstream call beyond N is a budgeted hedge');
    assert.ok(upstream <= bound, `${upstream} upstream calls > bound ${bound}`);
    assert.ok(m.budgetDenied > 0.5 * n, `the budget said no most of the time: ${m.budgetDenied}`);
    assert.ok(
      m.hedgesSent >= ratio * n * 0.9,
      `the budget was spent, not refused: ${m.hedgesSent}`,
    );
  });
});

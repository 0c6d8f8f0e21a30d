// Unit tests of the client SDK with a scripted fetch: options, bad answers, bounds, headers, timers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { DEFAULT_SERVING } from '../core/serving.ts';
import { createTimeoutClient, type TimeoutClient, type TimeoutClientOptions } from './index.ts';
import { DEFAULT_FALLBACK_MS } from './timeout-client.ts';

type Answer = Response | Error | 'hang';

interface Scripted {
  client: TimeoutClient;
  calls: { url: string; headers: Record<string, string> }[];
  /** The next answers, in order; the last one repeats. */
  answers: Answer[];
}

const clients: TimeoutClient[] = [];
after(() => clients.forEach((c) => c.close()));

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

function endpoints(list: { endpoint: string; timeoutMs: unknown; status?: string }[]): Response {
  return json({ endpoints: list.map((e) => ({ status: 'fresh', ...e })) });
}

function scripted(
  answers: Answer[],
  options: Partial<TimeoutClientOptions> = {},
): Scripted & { ready: Promise<boolean> } {
  const s: Partial<Scripted> & { calls: Scripted['calls']; answers: Answer[] } = {
    calls: [],
    answers,
  };
  const client = createTimeoutClient({
    brokerUrl: 'http://broker.test:5000',
    refreshMs: 60_000,
    logger: null,
    fetch: (input, init) => {
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      s.calls.push({ url: input instanceof Request ? input.url : input.toString(), headers });
      const a = (s.answers.length > 1 ? s.answers.shift() : s.answers[0]) as Answer;
      if (a === 'hang') {
        return new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error));
        });
      }
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a.clone());
    },
    ...options,
  });
  clients.push(client);
  return { ...(s as Scripted), client, ready: client.ready() };
}

describe('createTimeoutClient options', () => {
  const base = { brokerUrl: 'http://127.0.0.1:5000', logger: null };
  for (const [what, bad] of [
    ['brokerUrl that is not a URL', { brokerUrl: 'not a url' }],
    ['refreshMs 0', { refreshMs: 0 }],
    ['refreshMs under 100', { refreshMs: 50 }],
    ['fallbackMs negative', { fallbackMs: -1 }],
    ['fallbackMs NaN', { fallbackMs: Number.NaN }],
    ['requestTimeoutMs 0', { requestTimeoutMs: 0 }],
    ['minMs above maxMs', { minMs: 10, maxMs: 5 }],
  ] as const) {
    it(`rejects ${what} at creation with a TypeError`, () => {
      assert.throws(() => createTimeoutClient({ ...base, ...bad }), TypeError);
    });
  }

  it('rejects a missing options object', () => {
    assert.throws(
      () => createTimeoutClient(undefined as unknown as TimeoutClientOptions),
      TypeError,
    );
  });
});

describe('refresh', () => {
  it('asks GET <broker>/v1/endpoints, keeping a path prefix, with the bearer token', async () => {
    const s = scripted([endpoints([{ endpoint: 'a', timeoutMs: 12 }])], {
      brokerUrl: 'https://gw.example.test/jit',
      token: 'r34d',
    });
    assert.equal(await s.ready, true);
    assert.equal(s.calls[0]?.url, 'https://gw.example.test/jit/v1/endpoints');
    assert.equal(s.calls[0]?.headers.authorization, 'Bearer r34d');
    assert.equal(s.calls[0]?.headers.accept, 'application/json');
  });

  it('sends no authorization header without a token', async () => {
    const s = scripted([endpoints([])]);
    await s.ready;
    assert.equal(s.calls[0]?.headers.authorization, undefined);
  });

  it('ignores entries that are not values and keeps the others', async () => {
    const s = scripted([
      endpoints([
        { endpoint: 'ok', timeoutMs: 250 },
        { endpoint: 'stale', timeoutMs: 300, status: 'stale' },
        { endpoint: 'never', timeoutMs: 400, status: 'never' },
        { endpoint: 'nan', timeoutMs: 'NaN' },
        { endpoint: 'zero', timeoutMs: 0 },
        { endpoint: 'neg', timeoutMs: -5 },
        { endpoint: 'str', timeoutMs: '250' },
      ]),
    ]);
    await s.ready;
    assert.deepEqual(s.client.status().known, { ok: 250, stale: 300 });
    // `never`: not a known value, but the broker's default for it (here a broker configured 400).
    assert.equal(s.client.timeoutFor('never'), 400);
    for (const e of ['nan', 'zero', 'neg', 'str']) {
      assert.equal(s.client.timeoutFor(e), DEFAULT_SERVING.defaultTimeoutMs, e);
    }
  });

  for (const [what, answer, error] of [
    ['HTTP 500', json({ error: {} }, 500), /HTTP 500/],
    ['HTTP 401', json({ error: {} }, 401), /HTTP 401/],
    ['a body that is not JSON', new Response('<html>'), /JSON/],
    ['JSON of another shape', json(['a', 'b']), /not \{"endpoints"/],
    ['a network error', new TypeError('fetch failed'), /fetch failed/],
  ] as const) {
    it(`keeps the last values on ${what}, never throws`, async () => {
      const errors: Error[] = [];
      const first = endpoints([
        { endpoint: 'a', timeoutMs: 70 },
        { endpoint: 'b', timeoutMs: 300, status: 'never' },
      ]);
      const s = scripted([first, answer], { onRefreshError: (e) => errors.push(e) });
      assert.equal(await s.ready, true);
      assert.equal(await s.client.refresh(), false);
      assert.equal(await s.client.refresh(), false);
      assert.equal(s.client.timeoutFor('a'), 70);
      assert.equal(s.client.timeoutFor('b'), 300); // the broker's default for it, as last said
      assert.equal(s.client.timeoutFor('c'), DEFAULT_FALLBACK_MS);
      assert.match(s.client.status().lastError ?? '', error);
      assert.equal(s.client.status().consecutiveFailures, 2);
      assert.equal(errors.length, 2);
    });
  }

  it('gives up on a broker that does not answer after requestTimeoutMs', async () => {
    const started = Date.now();
    // The request timer is unref'd (a real hanging request holds a socket); keep the loop alive.
    const keepAlive = setTimeout(() => undefined, 5000);
    const s = scripted(['hang'], { requestTimeoutMs: 100 });
    assert.equal(await s.ready, false);
    clearTimeout(keepAlive);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 90 && elapsed < 2000, `${elapsed} ms`);
    assert.match(s.client.status().lastError ?? '', /timeout|aborted/i);
  });

  it('joins a refresh in flight instead of sending a second request', async () => {
    const s = scripted([endpoints([{ endpoint: 'a', timeoutMs: 5 }])]);
    await s.ready;
    const [x, y] = await Promise.all([s.client.refresh(), s.client.refresh()]);
    assert.deepEqual([x, y], [true, true]);
    assert.equal(s.calls.length, 2, 'the first refresh and one joined refresh');
  });

  it('survives an onRefreshError callback that throws', async () => {
    const s = scripted([new Error('down')], {
      onRefreshError: () => {
        throw new Error('metrics broken');
      },
    });
    assert.equal(await s.ready, false);
    assert.equal(await s.client.refresh(), false);
  });

  it('warns once when the broker becomes unreachable and once when it is back', async () => {
    const warnings: string[] = [];
    const s = scripted(
      [
        endpoints([{ endpoint: 'a', timeoutMs: 5 }]),
        new Error('down'),
        new Error('down'),
        endpoints([]),
      ],
      { logger: { warn: (m) => warnings.push(m) } },
    );
    await s.ready;
    await s.client.refresh();
    await s.client.refresh();
    await s.client.refresh();
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0] ?? '', /broker http:\/\/broker\.test:5000\/ unreachable \(down\)/);
    assert.match(warnings[1] ?? '', /reachable again/);
  });
});

describe('timeoutFor', () => {
  it('bounds values and the fallback by minMs and maxMs', async () => {
    const s = scripted(
      [
        endpoints([
          { endpoint: 'tiny', timeoutMs: 2 },
          { endpoint: 'huge', timeoutMs: 90_000 },
          { endpoint: 'mid', timeoutMs: 500 },
        ]),
      ],
      { minMs: 50, maxMs: 30_000, fallbackMs: 60_000 },
    );
    await s.ready;
    assert.equal(s.client.timeoutFor('tiny'), 50);
    assert.equal(s.client.timeoutFor('huge'), 30_000);
    assert.equal(s.client.timeoutFor('mid'), 500);
    assert.equal(s.client.timeoutFor('unknown'), 30_000);
  });

  it('answers the fallback before the first refresh has finished', () => {
    const s = scripted(['hang'], { fallbackMs: 777 });
    assert.equal(s.client.timeoutFor('a'), 777);
  });
});

describe('fallback: what the broker would serve, unless fallbackMs is given', () => {
  it("defaults to the broker's built-in default (100 ms), not a value of its own", () => {
    assert.equal(DEFAULT_FALLBACK_MS, DEFAULT_SERVING.defaultTimeoutMs);
    assert.equal(DEFAULT_FALLBACK_MS, 100);
  });

  it('answers 100 ms while the broker was never reached', async () => {
    const s = scripted([new Error('down')]);
    assert.equal(s.client.timeoutFor('a'), 100); // before the first refresh settles
    assert.equal(await s.ready, false);
    assert.equal(s.client.timeoutFor('a'), 100);
  });

  it("answers the broker's listed default for a never-computed endpoint, 100 ms for an unlisted one", async () => {
    const s = scripted([endpoints([{ endpoint: 'new', timeoutMs: 250, status: 'never' }])]);
    assert.equal(await s.ready, true);
    assert.equal(s.client.timeoutFor('new'), 250);
    assert.equal(s.client.timeoutFor('unlisted'), 100);
    assert.deepEqual(s.client.status().known, {});
  });

  it("never replaces a computed value by the broker's default (a restarted broker)", async () => {
    const s = scripted([
      endpoints([{ endpoint: 'a', timeoutMs: 4400 }]),
      endpoints([{ endpoint: 'a', timeoutMs: 100, status: 'never' }]),
    ]);
    await s.ready;
    assert.equal(await s.client.refresh(), true);
    assert.equal(s.client.timeoutFor('a'), 4400);
  });

  it('uses fallbackMs, when given, for every endpoint without a computed value', async () => {
    const s = scripted(
      [
        endpoints([
          { endpoint: 'new', timeoutMs: 250, status: 'never' },
          { endpoint: 'a', timeoutMs: 40 },
        ]),
      ],
      { fallbackMs: 2000 },
    );
    await s.ready;
    assert.equal(s.client.timeoutFor('new'), 2000);
    assert.equal(s.client.timeoutFor('unlisted'), 2000);
    assert.equal(s.client.timeoutFor('a'), 40);
  });
});

describe('timers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-client-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('never keeps a process alive (refresh timer unref’d), even without close()', async () => {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ endpoints: [{ endpoint: 'a', timeoutMs: 42, status: 'fresh' }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const script = join(dir, 'no-close.mts');
      const sdk = fileURLToPath(new URL('./index.ts', import.meta.url));
      writeFileSync(
        script,
        `import { createTimeoutClient } from ${JSON.stringify(sdk)};\n` +
          `const c = createTimeoutClient({ brokerUrl: 'http://127.0.0.1:${port}', refreshMs: 100 });\n` +
          `await c.ready();\nconsole.log(c.timeoutFor('a'));\n`,
      );
      // NODE_TEST_CONTEXT (set by `node --test`) would make the child report to this runner.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      clearTimeout(killer);
      assert.equal(code, 0, `the child exited on its own; stderr: ${err}`);
      assert.equal(out.trim(), '42');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

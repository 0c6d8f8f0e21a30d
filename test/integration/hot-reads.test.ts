// The hot reads answered before Fastify: byte for byte the routes' answers, only for sure cases, and off when a hook they skip is added.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fastifyPlugin from 'fastify-plugin';
import { buildBroker, type Broker, type BrokerDeps } from '../../src/broker/app.ts';
import { brokerConfig, type BrokerConfigInput } from '../../src/broker/config.ts';
import { LIFECYCLE_HOOKS } from '../../src/broker/hot-reads.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { info } from '../../src/store/timeout-store.conformance.ts';

/** Endpoints with a value, and the value stored for each (ms). */
const COMPUTED: Record<string, number> = {
  customer: 120,
  '/api/orders/{id}': 480,
  'GET /pay with space': 75,
  'a+b': 33,
  'ünïcödé/ëndpoint': 2100,
  'x=y': 9,
  '50%off?q#frag': 61,
};
const NEVER = 'never-computed';

/** An HTTP/1.x request line's version and the extra header lines sent with it. */
type Variant = { name: string; version: '1.1' | '1.0'; headers: string[] };
const VARIANTS: Variant[] = [
  { name: 'HTTP/1.1 keep-alive', version: '1.1', headers: [] },
  { name: 'HTTP/1.1 Connection: close', version: '1.1', headers: ['Connection: close'] },
  { name: 'HTTP/1.0', version: '1.0', headers: [] },
];

/** RFC 9110 IMF-fixdate, as Node writes `Date`. */
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Sends one request exactly as written over a fresh connection and answers the whole response as
 * text — status line, every header in order with its spelling, body — with the `Date` value
 * (checked to be an IMF-fixdate within a minute of now) replaced by `<date>`: the only bytes that
 * may differ between two servers answering the same request.
 */
function exchange(port: number, path: string, variant: Variant, method = 'GET'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      const raw = Buffer.concat(chunks);
      const head = raw.indexOf('\r\n\r\n');
      if (head === -1) return;
      const length = /\r\ncontent-length: (\d+)\r\n/i.exec(raw.subarray(0, head + 2).toString());
      // A HEAD answer announces the GET's length and sends no body.
      const bodyLength = method === 'HEAD' ? 0 : Number(length?.[1]);
      if (length === null || raw.length < head + 4 + bodyLength) return;
      done = true;
      socket.destroy();
      let text = raw.toString('utf8');
      const date = /\r\nDate: ([^\r]*)\r\n/i.exec(text);
      if (date !== null) {
        const value = date[1] ?? '';
        if (!IMF_FIXDATE.test(value) || Math.abs(Date.parse(value) - Date.now()) > 60_000) {
          reject(new Error(`bad Date header: ${value}`));
          return;
        }
        text = text.replace(value, '<date>');
      }
      resolve(text);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      finish();
    });
    socket.on('end', () => {
      finish();
      if (!done)
        reject(new Error(`connection closed mid-answer: ${Buffer.concat(chunks).toString()}`));
    });
    socket.on('error', reject);
    socket.write(
      [
        `${method} ${path} HTTP/${variant.version}`,
        'Host: 127.0.0.1',
        ...variant.headers,
        '',
        '',
      ].join('\r\n'),
    );
  });
}

/** The status code of an `exchange()` answer. */
const statusOf = (answer: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);

interface Started {
  broker: Broker;
  port: number;
}

async function start(
  store: MemoryStore,
  dir: string,
  extra: BrokerConfigInput = {},
  deps: BrokerDeps = {},
  beforeListen: (broker: Broker) => void = () => {},
): Promise<Started> {
  const names = [...Object.keys(COMPUTED), NEVER];
  const list = join(dir, `endpoints-${Math.random()}.config`);
  writeFileSync(list, `${names.join('\n')}\n`);
  const config = brokerConfig({
    host: '127.0.0.1',
    port: 0,
    endpointsFile: list,
    cyclePauseMs: 3_600_000,
    ...extra,
  });
  const broker = buildBroker(config, { store, logger: false, ...deps });
  beforeListen(broker);
  await broker.app.listen({ host: '127.0.0.1', port: 0 });
  return { broker, port: (broker.app.server.address() as AddressInfo).port };
}

/** A store with the test's endpoints and values. */
function seededStore(): MemoryStore {
  const store = new MemoryStore();
  store.syncEndpoints([...Object.keys(COMPUTED), NEVER].map((name) => ({ name, options: {} })));
  for (const [name, ms] of Object.entries(COMPUTED)) {
    store.recordSuccess(name, ms, info(ms), new Date());
  }
  return store;
}

const enc = encodeURIComponent;

describe('hot reads (GET /gettimeout, GET /v1/timeouts/:endpoint before Fastify)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-hot-'));
  // Two brokers on one store: the hot reads on, and every request through Fastify.
  const store = seededStore();
  let hot: Started;
  let routed: Started;
  before(async () => {
    hot = await start(store, dir);
    routed = await start(store, dir, {}, { hotReads: false });
  });
  after(async () => {
    await hot.broker.app.close();
    await routed.broker.app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // [path, who answers: the hot path, or Fastify (its route, or its router for a malformed or
  // too long URL)]
  type Who = 'hot' | 'fastify';
  const cases: [string, Who][] = [
    ...Object.keys(COMPUTED).flatMap((n): [string, Who][] => [
      [`/gettimeout?url=${enc(n)}`, 'hot'],
      [`/v1/timeouts/${enc(n)}`, 'hot'],
    ]),
    ['/gettimeout?url=/api/orders/{id}', 'hot'],
    ['/gettimeout?url=customer', 'hot'],
    [`/gettimeout?url=${NEVER}`, 'hot'],
    [`/v1/timeouts/${NEVER}`, 'hot'],
    // Everything below is Fastify's to answer.
    ['/gettimeout?url=GET+/pay+with+space', 'fastify'],
    ['/gettimeout?url=a+b', 'fastify'],
    ['/gettimeout?url=no-such-endpoint', 'fastify'],
    ['/gettimeout?url=', 'fastify'],
    ['/gettimeout?url=%E0%A4%A', 'fastify'],
    ['/gettimeout?url=customer&url=a%2Bb', 'fastify'],
    ['/gettimeout?url=customer&x=1', 'fastify'],
    ['/gettimeout?url=customer#frag', 'fastify'],
    ['/gettimeout', 'fastify'],
    ['/gettimeout?URL=customer', 'fastify'],
    ['/v1/timeouts/no-such-endpoint', 'fastify'],
    ['/v1/timeouts/', 'fastify'],
    ['/v1/timeouts/customer?x=1', 'fastify'],
    ['/v1/timeouts/customer/', 'fastify'],
    ['/v1/timeouts//customer', 'fastify'],
    ['/v1/timeouts/%E0%A4%A', 'fastify'],
    [`/v1/timeouts/${'x'.repeat(2100)}`, 'fastify'],
  ];

  it('is on in the default broker: its routes run only the hooks it reproduces', () => {
    // Fails when a hook or plugin is added to these routes (the listener then stays off and
    // says why): teach the listener that hook, or decide it is no longer worth having.
    assert.equal(hot.broker.hotReads.reason, undefined);
    assert.equal(hot.broker.hotReads.active, true);
    assert.equal(routed.broker.hotReads.active, false);
  });

  it('answers byte for byte what the Fastify routes answer: status, every header, body', async () => {
    const statuses = new Set<number>();
    for (const variant of VARIANTS) {
      for (const [path] of cases) {
        const fast = await exchange(hot.port, path, variant);
        const slow = await exchange(routed.port, path, variant);
        assert.equal(fast, slow, `${variant.name} GET ${path.slice(0, 80)}`);
        statuses.add(statusOf(fast));
      }
    }
    // The cases cover answers of every kind.
    for (const s of [200, 400, 404, 414, 422]) assert.ok(statuses.has(s), `no case answered ${s}`);
    // What a keep-alive answer carries (headers Node adds, the same on both paths).
    const answer = await exchange(hot.port, '/gettimeout?url=customer', VARIANTS[0] as Variant);
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer, /\r\ncontent-type: text\/plain; charset=utf-8\r\n/);
    assert.match(answer, /\r\ncontent-length: 3\r\n/);
    assert.match(answer, /\r\nDate: <date>\r\n/);
    assert.match(answer, /\r\nConnection: keep-alive\r\n/);
    assert.match(answer, /\r\nKeep-Alive: timeout=\d+\r\n/);
  });

  it('answers the sure cases itself and hands every other request to Fastify', async () => {
    for (const [path, who] of cases) {
      const before = hot.broker.hotReads.answered;
      await exchange(hot.port, path, VARIANTS[0] as Variant);
      const answered = hot.broker.hotReads.answered - before;
      assert.equal(answered, who === 'hot' ? 1 : 0, path.slice(0, 80));
    }
    const before = hot.broker.hotReads.answered;
    const head = await exchange(
      hot.port,
      '/gettimeout?url=customer',
      VARIANTS[1] as Variant,
      'HEAD',
    );
    assert.equal(statusOf(head), 200);
    assert.equal(hot.broker.hotReads.answered, before, 'HEAD goes to Fastify');
  });

  it('records its answers in the route series of the duration histogram', async () => {
    const count = async () => {
      const res = await hot.broker.app.inject({ method: 'GET', url: '/metrics' });
      const line = res.body
        .split('\n')
        .find((l) =>
          l.startsWith(
            'jit_http_request_duration_seconds_count{method="GET",route="/gettimeout",status_code="200"}',
          ),
        );
      return Number(line?.split(' ')[1] ?? 0);
    };
    const before = await count();
    await exchange(hot.port, '/gettimeout?url=customer', VARIANTS[0] as Variant);
    assert.equal(await count(), before + 1);
  });

  it('serves the value the store holds now, not one cached before a change', async () => {
    const body = async () =>
      JSON.parse(
        (await exchange(hot.port, '/v1/timeouts/customer', VARIANTS[1] as Variant)).split(
          '\r\n\r\n',
        )[1] ?? '',
      ) as { storedMs: number; lastError: string | null };
    const first = await body();
    assert.equal(first.storedMs, 120);
    hot.broker.store.recordFailure('customer', 'worker answered HTTP 500: boom', new Date());
    const failed = await body();
    assert.equal(failed.storedMs, 120);
    assert.equal(failed.lastError, 'worker answered HTTP 500: boom');
  });

  it('stays on when tokens guard only writes (reads are open), with the same bytes', async () => {
    const tokens = { adminToken: 'a'.repeat(32), workerToken: 'w'.repeat(32) };
    const fast = await start(store, dir, tokens);
    const slow = await start(store, dir, tokens, { hotReads: false });
    try {
      assert.equal(fast.broker.hotReads.active, true, fast.broker.hotReads.reason);
      for (const [path] of cases.slice(0, 8)) {
        const a = await exchange(fast.port, path, VARIANTS[0] as Variant);
        assert.equal(a, await exchange(slow.port, path, VARIANTS[0] as Variant), path);
      }
      assert.ok(fast.broker.hotReads.answered >= 8);
    } finally {
      await fast.broker.app.close();
      await slow.broker.app.close();
    }
  });

  it('is off when a token guards reads: the check runs for every request', async () => {
    const guarded = await start(store, dir, { readToken: 'r'.repeat(32) });
    try {
      assert.equal(guarded.broker.hotReads.active, false);
      assert.match(guarded.broker.hotReads.reason ?? '', /read token/);
      // The hot path would answer 200: a 401 is the token check's answer.
      for (const path of ['/gettimeout?url=customer', '/v1/timeouts/customer']) {
        assert.equal(statusOf(await exchange(guarded.port, path, VARIANTS[1] as Variant)), 401);
      }
    } finally {
      await guarded.broker.app.close();
    }
  });

  /** A broker with `add` applied before it starts, and what a hot read then answers. */
  async function withExtra(add: (broker: Broker, ran: string[]) => void) {
    const ran: string[] = [];
    const started = await start(store, dir, {}, {}, (broker) => add(broker, ran));
    try {
      const answer = await exchange(
        started.port,
        '/gettimeout?url=customer',
        VARIANTS[1] as Variant,
      );
      return {
        status: started.broker.hotReads,
        answered: started.broker.hotReads.answered,
        answer,
        ran,
      };
    } finally {
      await started.broker.app.close();
    }
  }

  // The stages a 200 text answer passes through (preSerialization runs for objects only;
  // onError, onTimeout and onRequestAbort only when things go wrong).
  const RUN_ON_200 = new Set([
    'onRequest',
    'preParsing',
    'preValidation',
    'preHandler',
    'onSend',
    'onResponse',
  ]);

  for (const stage of LIFECYCLE_HOOKS) {
    it(`falls back to Fastify when an app-wide ${stage} hook is added`, async () => {
      const { status, answered, answer, ran } = await withExtra((broker, ran) => {
        broker.app.addHook(stage, (...args: unknown[]) => {
          ran.push(stage);
          const done = args.at(-1);
          // onSend and preSerialization pass the payload on; the others just continue.
          if (stage === 'onSend' || stage === 'preSerialization')
            (done as (e: null, p: unknown) => void)(null, args[2]);
          else (done as () => void)();
        });
      });
      // The duration recorder is an onResponse hook the listener reproduces: one more than it.
      const expected = stage === 'onResponse' ? 2 : 1;
      assert.equal(status.active, false);
      assert.match(
        status.reason ?? '',
        new RegExp(`GET /gettimeout runs ${expected} ${stage} hook`),
      );
      assert.match(
        status.reason ?? '',
        new RegExp(`GET /v1/timeouts/:endpoint runs ${expected} ${stage} hook`),
      );
      assert.equal(answered, 0);
      assert.equal(statusOf(answer), 200);
      if (RUN_ON_200.has(stage)) assert.deepEqual(ran, [stage], 'Fastify ran the hook');
    });
  }

  it('falls back when a plugin adds a header hook (as CORS or security-header plugins do)', async () => {
    const { status, answered, answer } = await withExtra((broker) => {
      void broker.app.register(
        fastifyPlugin((app, _opts, done) => {
          app.addHook('onRequest', (_req, reply, next) => {
            void reply.header('access-control-allow-origin', '*');
            next();
          });
          done();
        }),
      );
    });
    assert.equal(status.active, false);
    assert.equal(answered, 0);
    assert.match(answer, /\r\naccess-control-allow-origin: \*\r\n/);
  });

  it('falls back when a plugin attaches a hook to the route itself (as rate limits do)', async () => {
    const { status, answered, answer } = await withExtra((broker) => {
      broker.app.addHook('onRoute', (route) => {
        if (route.url !== '/v1/timeouts/:endpoint') return;
        route.onSend = (_req, reply, payload, done) => {
          void reply.header('x-route-level', '1');
          done(null, payload);
        };
      });
    });
    assert.equal(status.active, false);
    assert.match(status.reason ?? '', /GET \/v1\/timeouts\/:endpoint runs 1 onSend hook/);
    assert.doesNotMatch(status.reason ?? '', /GET \/gettimeout runs/);
    assert.equal(answered, 0);
    assert.equal(statusOf(answer), 200);
  });
});

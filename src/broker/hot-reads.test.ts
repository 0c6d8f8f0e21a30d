// The hot-read listener's own rules: what it answers, what it leaves untouched, and stop().
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { MemoryStore } from '../store/memory-store.ts';
import { info } from '../store/timeout-store.conformance.ts';
import { brokerConfig } from './config.ts';
import { HotRouteHooks, hotReads } from './hot-reads.ts';
import { endpointViewCache } from './serve.ts';

/** What the listener did to a response: nothing, or one head and one body. */
class Recorded {
  head: [number, Record<string, unknown>] | undefined;
  body: string | undefined;
  writeHead(status: number, headers: Record<string, unknown>) {
    this.head = [status, headers];
    return this;
  }
  end(body: string) {
    this.body = body;
    return this;
  }
}

function setup() {
  const config = brokerConfig({});
  const store = new MemoryStore();
  store.syncEndpoints([
    { name: 'customer', options: {} },
    { name: 'order', options: {} },
  ]);
  store.recordSuccess('customer', 120, info(120), new Date());
  const observed: [string, number][] = [];
  const hot = hotReads({
    config,
    store,
    viewJson: endpointViewCache(config),
    maxParamLength: 2048,
    recorder: (route) => (status) => observed.push([route, status]),
  });
  hot.start();
  const send = (method: string, url: string) => {
    const res = new Recorded();
    const handled = hot.handle(
      { method, url } as IncomingMessage,
      res as unknown as ServerResponse,
    );
    return { handled, res };
  };
  return { hot, send, observed };
}

describe('hotReads', () => {
  it('answers a known endpoint with the served value and records it under the route', () => {
    const { send, observed } = setup();
    const { handled, res } = send('GET', '/gettimeout?url=customer');
    assert.equal(handled, true);
    assert.deepEqual(res.head, [
      200,
      { 'content-type': 'text/plain; charset=utf-8', 'content-length': 3 },
    ]);
    assert.equal(res.body, '132'); // ceil(1.1 × 120)
    const view = send('GET', '/v1/timeouts/customer');
    assert.equal(view.handled, true);
    assert.equal((JSON.parse(view.res.body ?? '') as { timeoutMs: number }).timeoutMs, 132);
    assert.equal(view.res.head?.[1]['content-length'], Buffer.byteLength(view.res.body ?? ''));
    assert.deepEqual(observed, [
      ['/gettimeout', 200],
      ['/v1/timeouts/:endpoint', 200],
    ]);
  });

  it('leaves the response untouched for what Fastify must answer', () => {
    const { send, observed } = setup();
    for (const [method, url] of [
      ['GET', '/gettimeout?url=unknown'], // 422 Endpoint Invalid
      ['GET', '/v1/timeouts/unknown'], // 404
      ['HEAD', '/gettimeout?url=customer'],
      ['POST', '/v1/timeouts/customer'],
      ['GET', '/gettimeout?url=customer&url=order'],
      ['GET', '/gettimeout?url=%E0%A4%A'],
      ['GET', '/v1/timeouts/customer?x=1'],
      ['GET', '/healthz'],
    ] as const) {
      const { handled, res } = send(method, url);
      assert.equal(handled, false, `${method} ${url}`);
      assert.equal(res.head, undefined);
      assert.equal(res.body, undefined);
    }
    assert.deepEqual(observed, []);
  });

  it('answers nothing before start() (the broker starts it at ready, once the hooks are checked)', () => {
    const config = brokerConfig({});
    const store = new MemoryStore();
    store.syncEndpoints([{ name: 'customer', options: {} }]);
    store.recordSuccess('customer', 120, info(120), new Date());
    const hot = hotReads({
      config,
      store,
      viewJson: endpointViewCache(config),
      maxParamLength: 2048,
      recorder: () => () => {},
    });
    const res = new Recorded();
    const req = { method: 'GET', url: '/gettimeout?url=customer' } as IncomingMessage;
    assert.equal(hot.handle(req, res as unknown as ServerResponse), false);
    assert.equal(res.head, undefined);
    hot.start();
    assert.equal(hot.handle(req, res as unknown as ServerResponse), true);
    assert.equal(hot.answered, 1);
  });

  it('hands everything to Fastify once stopped (the broker stops it when closing begins)', () => {
    const { hot, send } = setup();
    assert.equal(send('GET', '/gettimeout?url=customer').handled, true);
    hot.stop();
    const after = send('GET', '/gettimeout?url=customer');
    assert.equal(after.handled, false);
    assert.equal(after.res.head, undefined);
  });
});

/** An app shaped like the broker's: hooks installed in a scope, then the hot routes in it. */
async function appWith(
  install: (scope: FastifyInstance, hooks: HotRouteHooks) => void,
): Promise<{ app: FastifyInstance; hooks: HotRouteHooks }> {
  const hooks = new HotRouteHooks();
  const app = Fastify({ routerOptions: hooks.routerOptions({}) });
  void app.register((scope, _opts, done) => {
    install(scope, hooks);
    scope.get('/gettimeout', () => '1');
    scope.get('/v1/timeouts/:endpoint', () => '{}');
    scope.get('/other', () => 'x');
    done();
  });
  await app.ready();
  return { app, hooks };
}

const noop = (_req: unknown, _reply: unknown, done: () => void) => done();

describe('HotRouteHooks', () => {
  it('accepts exactly the hooks declared as reproduced, scope-wide and route-level', async () => {
    const { app, hooks } = await appWith((scope, hooks) => {
      hooks.reproduces('scope-wide check', scope, () => scope.addHook('onRequest', noop));
      hooks.reproduces('recorder', scope, () =>
        scope.addHook('onRoute', (route) => {
          route.onResponse = noop;
        }),
      );
    });
    assert.equal(hooks.check(app), undefined);
    assert.deepEqual(hooks.reproduced, ['scope-wide check', 'recorder']);
    // printRoutes still shows what Fastify's default shows.
    assert.match(app.printRoutes({ includeHooks: true }), /onRequest/);
    await app.close();
  });

  it('names every hook it was not told about, by route and stage', async () => {
    const { app, hooks } = await appWith((scope, hooks) => {
      hooks.reproduces('recorder', scope, () =>
        scope.addHook('onRoute', (route) => {
          route.onResponse = noop;
        }),
      );
      scope.addHook('preHandler', noop); // not declared
      scope.addHook('onRoute', (route) => {
        if (route.url === '/gettimeout') route.onSend = (_q, _r, p, done) => done(null, p);
      });
    });
    assert.equal(
      hooks.check(app),
      'GET /gettimeout runs 1 preHandler hook(s), the listener reproduces 0; ' +
        'GET /gettimeout runs 1 onSend hook(s), the listener reproduces 0; ' +
        'GET /v1/timeouts/:endpoint runs 1 preHandler hook(s), the listener reproduces 0 ' +
        '(reproduced: recorder)',
    );
    await app.close();
  });

  it('refuses when a reproduced hook is missing, or a route is not declared', async () => {
    const hooks = new HotRouteHooks();
    const app = Fastify({ routerOptions: hooks.routerOptions({}) });
    hooks.reproduces('recorder', app, () => app.addHook('onResponse', noop));
    app.get('/gettimeout', { onResponse: [] }, () => '1');
    await app.ready();
    // The scope-wide recorder runs for the declared route: only the other route is missing.
    assert.equal(
      hooks.check(app),
      'GET /v1/timeouts/:endpoint is not declared (reproduced: recorder)',
    );
    await app.close();
  });

  it('leaves the scope as it was: hooks added after reproduces() are not recorded', async () => {
    const { app, hooks } = await appWith((scope, hooks) => {
      hooks.reproduces('nothing', scope, () => {});
      assert.equal(Object.hasOwn(scope, 'addHook'), false);
      scope.addHook('onRequest', noop);
    });
    assert.match(hooks.check(app) ?? '', /runs 1 onRequest hook\(s\), the listener reproduces 0/);
    await app.close();
  });
});

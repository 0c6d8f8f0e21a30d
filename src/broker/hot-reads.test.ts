// The hot-read listener's own rules: what it answers, what it leaves untouched, and stop().
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { MemoryStore } from '../store/memory-store.ts';
import { info } from '../store/timeout-store.conformance.ts';
import { brokerConfig } from './config.ts';
import { hotReads } from './hot-reads.ts';
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

  it('hands everything to Fastify once stopped (the broker stops it when closing begins)', () => {
    const { hot, send } = setup();
    assert.equal(send('GET', '/gettimeout?url=customer').handled, true);
    hot.stop();
    const after = send('GET', '/gettimeout?url=customer');
    assert.equal(after.handled, false);
    assert.equal(after.res.head, undefined);
  });
});

// Endpoint naming: every default rule, templates and their fallback, and names always valid.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidConfigError } from '../core/errors.ts';
import { endpointNameProblem } from '../core/endpoint-name.ts';
import {
  compileNaming,
  NAMING_ATTRIBUTE_KEYS,
  namingAttributeKeys,
  sanitizeEndpointName,
  templateAttributeKeys,
  templatePath,
} from './naming.ts';
import type { ReceivedSpan, SpanKind } from './types.ts';

function span(
  kind: SpanKind,
  name: string,
  attrs: Record<string, string> = {},
  serviceName = 'checkout',
): ReceivedSpan {
  return {
    serviceName,
    name,
    kind,
    startTimeUnixNano: 1n,
    endTimeUnixNano: 2n,
    statusCode: 0,
    attributes: new Map(Object.entries(attrs)),
  };
}

const name = compileNaming();

describe('default rules: SERVER spans', () => {
  it('service, method and route', () => {
    const s = span('server', 'GET /api/cart/{id}', {
      'http.request.method': 'GET',
      'http.route': '/api/cart/{id}',
      'url.path': '/api/cart/42',
    });
    assert.equal(name(s), 'checkout GET /api/cart/{id}');
  });

  it('the older http.method when http.request.method is absent', () => {
    const s = span('server', 'x', { 'http.method': 'POST', 'http.route': '/orders' });
    assert.equal(name(s), 'checkout POST /orders');
  });

  it('no route: the span name when it says more than the method', () => {
    assert.equal(
      name(
        span('server', 'GET /users/:id', { 'http.request.method': 'GET', 'url.path': '/users/7' }),
      ),
      'checkout GET /users/:id',
    );
    assert.equal(name(span('server', 'grpc.Cart/Get')), 'checkout grpc.Cart/Get');
  });

  it('no route and a bare method as name: the path, query stripped, ids as {id}', () => {
    assert.equal(
      name(
        span('server', 'GET', { 'http.request.method': 'GET', 'url.path': '/users/123/avatar' }),
      ),
      'checkout GET /users/{id}/avatar',
    );
    assert.equal(
      name(
        span('server', 'HTTP', {
          'http.method': 'DELETE',
          'http.target': '/s/0f8fad5b-d9cb-469f-a165-70867728950e?x=1#f',
        }),
      ),
      'checkout DELETE /s/{id}',
    );
  });

  it('nothing but a method: service and method', () => {
    assert.equal(name(span('server', 'GET', { 'http.request.method': 'GET' })), 'checkout GET');
  });

  it('without service.name the service is left out', () => {
    assert.equal(name(span('server', 'GET', { 'http.route': '/a' }, '')), '/a');
  });
});

describe('default rules: CLIENT spans', () => {
  it('callee, method and url.template', () => {
    const s = span('client', 'GET', {
      'server.address': 'cart.internal',
      'server.port': '8080',
      'http.request.method': 'GET',
      'url.template': '/carts/{id}',
      'url.full': 'http://cart.internal:8080/carts/9?debug=1',
    });
    assert.equal(name(s), 'cart.internal:8080 GET /carts/{id}');
  });

  it('ports 80 and 443 are left out', () => {
    const s = span('client', 'GET', {
      'server.address': 'api.example.com',
      'server.port': '443',
      'http.request.method': 'GET',
      'url.template': '/v1/x',
    });
    assert.equal(name(s), 'api.example.com GET /v1/x');
  });

  it('no template: the span name when it says more than the method', () => {
    const s = span('client', 'SELECT shop.orders', {
      'server.address': 'db',
      'server.port': '5432',
    });
    assert.equal(name(s), 'db:5432 SELECT shop.orders');
  });

  it('older attributes: net.peer.name, then http.url (user info, query dropped, ids as {id})', () => {
    assert.equal(
      name(
        span('client', 'GET', {
          'net.peer.name': 'legacy',
          'net.peer.port': '81',
          'http.method': 'GET',
        }),
      ),
      'legacy:81 GET',
    );
    assert.equal(
      name(
        span('client', 'HTTP GET', {
          'http.method': 'GET',
          'http.url': 'https://user:secret@Pay.Example.com:8443/charge/12345?card=1',
        }),
      ),
      'pay.example.com:8443 HTTP GET',
      'a span name that is not a bare method wins over the URL path',
    );
    assert.equal(
      name(
        span('client', 'GET', {
          'http.method': 'GET',
          'http.url': 'https://user:secret@Pay.Example.com:8443/charge/12345?card=1',
        }),
      ),
      'pay.example.com:8443 GET /charge/{id}',
    );
  });

  it('no callee and a bare method: no endpoint', () => {
    assert.equal(name(span('client', 'GET', { 'http.request.method': 'GET' })), undefined);
  });

  it('the caller service is not part of a client name', () => {
    const s = span('client', 'GET', { 'server.address': 'cart', 'url.template': '/x' }, 'web');
    assert.equal(name(s), 'cart /x');
  });
});

describe('other kinds and templates', () => {
  it('INTERNAL, PRODUCER, CONSUMER, UNSPECIFIED spans have no endpoint by default', () => {
    for (const kind of ['internal', 'producer', 'consumer', 'unspecified'] as const)
      assert.equal(name(span(kind, 'work', { 'http.route': '/a' })), undefined, kind);
  });

  it('a template replaces the rules for its kind only', () => {
    const n = compileNaming({
      templates: {
        server: '{service.name} {http.request.method} {http.route}',
        consumer: 'queue {messaging.destination.name}',
      },
    });
    assert.equal(
      n(span('server', 'x', { 'http.request.method': 'PUT', 'http.route': '/a/{b}' })),
      'checkout PUT /a/{b}',
    );
    assert.equal(
      n(span('consumer', 'x', { 'messaging.destination.name': 'orders' })),
      'queue orders',
    );
    assert.equal(n(span('client', 'GET', { 'server.address': 'h', 'url.template': '/t' })), 'h /t');
  });

  it('{a|b} takes the first present value; span.name and span.kind are fields', () => {
    const n = compileNaming({ templates: { internal: '{span.kind}:{job.name|span.name}' } });
    assert.equal(n(span('internal', 'nightly')), 'internal:nightly');
    assert.equal(n(span('internal', 'nightly', { 'job.name': 'export' })), 'internal:export');
  });

  it('a missing placeholder falls back to the default rules (or no endpoint)', () => {
    const n = compileNaming({
      templates: {
        server: '{service.name} {http.route}',
        producer: 'to {messaging.destination.name}',
      },
    });
    assert.equal(
      n(span('server', 'GET /fallback', { 'http.request.method': 'GET' })),
      'checkout GET /fallback',
    );
    assert.equal(
      n(span('server', 'x', { 'http.route': '   ' })),
      'checkout x',
      'blank counts as missing',
    );
    assert.equal(n(span('producer', 'send')), undefined);
  });

  it('malformed templates are configuration errors, found when compiled', () => {
    for (const t of ['{a', 'a}', '{}', '{a|}', '{a{b}}'])
      assert.throws(() => compileNaming({ templates: { server: t } }), InvalidConfigError, t);
  });

  it('templateAttributeKeys and namingAttributeKeys list what the decoder must keep', () => {
    assert.deepEqual(templateAttributeKeys('{service.name} {a|span.name} {b} {a}'), ['a', 'b']);
    const keys = namingAttributeKeys({ templates: { consumer: '{messaging.destination.name}' } });
    for (const k of NAMING_ATTRIBUTE_KEYS) assert.ok(keys.has(k), k);
    assert.ok(keys.has('messaging.destination.name'));
    assert.ok(NAMING_ATTRIBUTE_KEYS.includes('http.route'));
  });
});

describe('names are always valid endpoint names', () => {
  it('control characters, line separators and white space runs become one space', () => {
    assert.equal(sanitizeEndpointName('  a\r\n\tb\u2028c\u0000 d  '), 'a b c d');
    assert.equal(sanitizeEndpointName(' \n\t '), undefined);
  });

  it('cut to 512 characters, never inside a surrogate pair, lone surrogates replaced', () => {
    const long = sanitizeEndpointName('x'.repeat(511) + '😀' + 'y');
    assert.equal(long, 'x'.repeat(511));
    assert.equal(sanitizeEndpointName('a\ud800b'), 'a\ufffdb');
  });

  it('attribute text stays data: any value gives a valid name or none', () => {
    const nasty = [
      '',
      ' ',
      '\u0000',
      '\r\nSet-Cookie: x',
      '%0d%0a',
      '{http.route}',
      '😀'.repeat(400),
      'a'.repeat(10_000),
      '\ud83d',
    ];
    const templated = compileNaming({ templates: { internal: '{x} {span.name}' } });
    for (const v of nasty) {
      for (const s of [
        span('server', v, { 'http.route': v, 'http.request.method': v }, v),
        span('client', v, { 'server.address': v, 'url.full': v }),
        span('internal', v, { x: v }),
      ]) {
        for (const n of [name(s), templated(s)])
          if (n !== undefined) assert.equal(endpointNameProblem(n), undefined, JSON.stringify(n));
      }
    }
    // A placeholder inside an attribute value is not expanded again.
    assert.equal(templated(span('internal', 'n', { x: '{span.kind}' })), '{span.kind} n');
  });

  it('random text: valid, no double spaces, and cleaning twice changes nothing', () => {
    const pool = [
      'a',
      'Z',
      ' ',
      '  ',
      '\t',
      '\n',
      '\u00a0',
      '\u0085',
      '\u2028',
      '😀',
      '\ud83d',
      '\udc00',
      '\u0000',
      '/',
      '{',
    ];
    let seed = 11;
    const rnd = (n: number): number => (
      (seed = (seed * 1103515245 + 12345) & 0x7fffffff),
      seed % n
    );
    for (let i = 0; i < 5000; i++) {
      let raw = '';
      const len = rnd(i % 50 === 0 ? 700 : 12);
      for (let k = 0; k < len; k++) raw += pool[rnd(pool.length)];
      const once = sanitizeEndpointName(raw);
      if (once === undefined) continue;
      assert.equal(endpointNameProblem(once), undefined, JSON.stringify(raw));
      assert.ok(!/\s\s|[^\S ]/.test(once), JSON.stringify(once));
      assert.equal(sanitizeEndpointName(once), once, JSON.stringify(raw));
    }
  });

  it('templatePath replaces only id-like segments', () => {
    assert.equal(
      templatePath('/v2/users/123/files/abcdef0123456789abcd'),
      '/v2/users/{id}/files/{id}',
    );
    assert.equal(templatePath('/api/v1/cart'), '/api/v1/cart');
  });
});

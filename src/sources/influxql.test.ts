// InfluxQL quoting and the duration query built for an endpoint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDurationQuery } from './influxdb.ts';
import { jsonMemberRegex, resolveInfluxLayout } from './influx-schema.ts';
import { quoteIdentifier, quoteRegexLiteral, quoteString } from './influxql.ts';

describe('InfluxQL quoting', () => {
  it('quotes identifiers', () => {
    assert.equal(quoteIdentifier('http.url'), '"http.url"');
    assert.equal(quoteIdentifier('a"b\\c'), '"a\\"b\\\\c"');
  });
  it('quotes string literals', () => {
    assert.equal(quoteString("it's"), "'it\\'s'");
    assert.equal(quoteString('a\\b'), "'a\\\\b'");
  });
  it('escapes every regex metacharacter and the slash', () => {
    assert.equal(quoteRegexLiteral('customer'), '/customer/');
    assert.equal(quoteRegexLiteral('/api/v1'), '/\\/api\\/v1/');
    assert.equal(quoteRegexLiteral('.*'), '/\\.\\*/');
    assert.equal(quoteRegexLiteral('a|b(c)[d]{2}^$+?'), '/a\\|b\\(c\\)\\[d\\]\\{2\\}\\^\\$\\+\\?/');
    assert.equal(quoteRegexLiteral('back\\slash'), '/back\\x5cslash/');
    assert.equal(quoteRegexLiteral('ends\\'), '/ends\\x5c/');
  });
  it('a name cannot close the regex and append a clause', () => {
    const q = buildDurationQuery('/ OR 1=1 --', resolveInfluxLayout({ schema: 'jaeger' }), {
      windowHours: 48,
      limit: 5000,
    });
    assert.equal(
      q,
      'SELECT "duration" FROM "span" WHERE time >= now() - 172800000ms AND "http.url" =~ /\\/ OR 1=1 --/ ORDER BY time DESC LIMIT 5000',
    );
  });
  it('builds exact matches with a string literal', () => {
    const q = buildDurationQuery(
      "x' OR 'a'='a",
      resolveInfluxLayout({
        schema: 'jaeger',
        measurement: 'my span',
        field: 'dur',
        tag: 'url',
        tagPrefix: '',
        matchMode: 'exact',
      }),
      { windowHours: 1.5, limit: 10 },
    );
    assert.equal(
      q,
      `SELECT "dur" FROM "my span" WHERE time >= now() - 5400000ms AND "url" = 'x\\' OR \\'a\\'=\\'a' ORDER BY time DESC LIMIT 10`,
    );
  });
  it('escapes newlines in identifiers and strings, control characters in regexes', () => {
    assert.equal(quoteString('a\nb'), "'a\\nb'");
    assert.equal(quoteIdentifier('a\n"b'), '"a\\n\\"b"');
    assert.equal(quoteRegexLiteral('a\nb\t'), '/a\\x0ab\\x09/');
  });
  it('jaeger exact: the type-prefixed value or the bare one', () => {
    const q = buildDurationQuery(
      "/api/o'k",
      resolveInfluxLayout({ schema: 'jaeger', matchMode: 'exact' }),
      { windowHours: 1, limit: 10 },
    );
    assert.equal(
      q,
      `SELECT "duration" FROM "span" WHERE time >= now() - 3600000ms AND ("http.url" = 's:/api/o\\'k' OR "http.url" = '/api/o\\'k') ORDER BY time DESC LIMIT 10`,
    );
  });
  it('otel: service tag and span name, split at the first space', () => {
    const q = buildDurationQuery(
      'orders GET /api/orders',
      resolveInfluxLayout({ schema: 'otel' }),
      {
        windowHours: 1,
        limit: 10,
      },
    );
    assert.equal(
      q,
      `SELECT "duration_nano" FROM "spans" WHERE time >= now() - 3600000ms AND "service.name" = 'orders' AND "span.name" = 'GET /api/orders' ORDER BY time DESC LIMIT 10`,
    );
    assert.equal(
      buildDurationQuery('noservice', resolveInfluxLayout({ schema: 'otel' }), {
        windowHours: 1,
        limit: 1,
      }),
      undefined,
    );
  });
  it('otel route: a regex on the attributes JSON as Go writes it, backslashes as \\x5c', () => {
    assert.equal(jsonMemberRegex('http.route', '/a"b'), '[{,]"http\\.route":"/a\\x5c"b"');
    assert.equal(jsonMemberRegex('k', '<&'), '[{,]"k":"(?:<|\\x5cu003c)(?:&|\\x5cu0026)"');
    const q = buildDurationQuery(
      'orders /api/{id}',
      resolveInfluxLayout({ schema: 'otel', naming: 'route' }),
      { windowHours: 1, limit: 10 },
    );
    assert.equal(
      q,
      `SELECT "duration_nano", "attributes" FROM "spans" WHERE time >= now() - 3600000ms AND "service.name" = 'orders' AND "attributes" =~ /[{,]"http\\.route":"\\/api\\/\\{id\\}"/ ORDER BY time DESC LIMIT 10`,
    );
  });
  it('a preset refuses options of the other kind', () => {
    assert.throws(
      () => resolveInfluxLayout({ schema: 'jaeger', naming: 'route' }),
      /naming: applies to the otel schemas only/,
    );
    assert.throws(
      () => resolveInfluxLayout({ schema: 'otel', tag: 'x' }),
      /tag: applies to the jaeger schema only/,
    );
  });
});

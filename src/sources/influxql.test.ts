// InfluxQL quoting and the duration query built for an endpoint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDurationQuery } from './influxdb.ts';
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
    const q = buildDurationQuery(
      '/ OR 1=1 --',
      { measurement: 'span', field: 'duration', tag: 'http.url', matchMode: 'contains' },
      { windowHours: 48, limit: 5000 },
    );
    assert.equal(
      q,
      'SELECT "duration" FROM "span" WHERE time >= now() - 172800000ms AND "http.url" =~ /\\/ OR 1=1 --/ ORDER BY time DESC LIMIT 5000',
    );
  });
  it('builds exact matches with a string literal', () => {
    const q = buildDurationQuery(
      "x' OR 'a'='a",
      { measurement: 'my span', field: 'dur', tag: 'url', matchMode: 'exact' },
      { windowHours: 1.5, limit: 10 },
    );
    assert.equal(
      q,
      `SELECT "dur" FROM "my span" WHERE time >= now() - 5400000ms AND "url" = 'x\\' OR \\'a\\'=\\'a' ORDER BY time DESC LIMIT 10`,
    );
  });
});

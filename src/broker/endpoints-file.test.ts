// Parsing the endpoint list file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointList, parseEndpointOptions, readEndpointList } from './endpoints-file.ts';

/** The reasons given for each rejected line, as [line, reason]. */
const reasons = (text: string) => parseEndpointList(text).rejected.map((r) => [r.line, r.reason]);

describe('endpoint list', () => {
  it('takes one name per line, ignoring blanks, comments and duplicates', () => {
    const list = parseEndpointList(
      '# services\ncustomer\n\n  order  \r\n#driver\ncustomer\n/api/v1/x?y=1\n',
    );
    assert.deepEqual(list.names, ['customer', 'order', '/api/v1/x?y=1']);
    assert.deepEqual(list.rejected, []);
  });
  it('rejects names it cannot serve, naming the line', () => {
    const list = parseEndpointList(`ok\nbad\u0001name\n${'x'.repeat(600)}\n`);
    assert.deepEqual(list.names, ['ok']);
    assert.deepEqual(
      list.rejected.map((r) => [r.line, r.reason]),
      [
        [2, 'contains control characters'],
        [3, 'longer than 512 characters'],
      ],
    );
  });
  it('rejects with the fs error for a missing file', async () => {
    await assert.rejects(readEndpointList('/nonexistent/endpoints.config'), { code: 'ENOENT' });
  });

  it('reads settings after " | "', () => {
    const list = parseEndpointList(
      'a b | alpha=0.01 strategy=quantile minMs=0 maxMs=5000\nc | strategy=seed\n',
    );
    assert.deepEqual(list.entries, [
      { name: 'a b', options: { alpha: 0.01, strategy: 'quantile', minMs: 0, maxMs: 5000 } },
      // seed is a known name even where its optional dependency is missing.
      { name: 'c', options: { strategy: 'seed' } },
    ]);
    assert.deepEqual(list.rejected, []);
  });

  it('skips a line with a bar and no settings instead of listing "shipping |"', () => {
    const list = parseEndpointList('shipping |\nbilling | \n|\nok\n');
    assert.deepEqual(list.names, ['ok']);
    assert.deepEqual(
      list.rejected.map((r) => r.line),
      [1, 2, 3],
    );
    for (const r of list.rejected) assert.match(r.reason, /^no settings after " \| "/);
  });

  it('says a setting without "=" is not key=value, naming the words', () => {
    assert.deepEqual(reasons('shipping | alpha 0.01\n'), [
      [1, "setting 'alpha 0.01' is not key=value"],
    ]);
    assert.deepEqual(reasons('shipping | strategy=sigma alpha\n'), [
      [1, "setting 'alpha' is not key=value"],
    ]);
  });

  it('names each other unreadable setting precisely', () => {
    const cases: [string, string][] = [
      ['alpha=', "setting 'alpha=' has no value"],
      ['alpha=abc', 'alpha=abc is not a number'],
      ['maxMs=0x10', 'maxMs=0x10 is not a number'],
      ['alpha=2', 'alpha=2 is out of range (between 0 and 1, exclusive)'],
      ['maxMs=0', 'maxMs=0 is out of range (above 0)'],
      ['minMs=-1', 'minMs=-1 is out of range (at least 0)'],
      ['alpha=0.1 alpha=0.2', 'alpha is given twice'],
      ['=5', "setting '=5' has no key"],
      ['k=2', 'unknown setting "k" (known: alpha, strategy, minMs, maxMs)'],
      ['minMs=10 maxMs=5', 'minMs must not exceed maxMs'],
    ];
    for (const [settings, reason] of cases) assert.equal(parseEndpointOptions(settings), reason);
  });

  it('skips a line naming an unknown strategy, listing the known ones', () => {
    const list = parseEndpointList('shipping | strategy=foo\nok\n');
    assert.deepEqual(list.names, ['ok']);
    assert.deepEqual(list.rejected, [
      {
        line: 1,
        text: 'shipping | strategy=foo',
        reason: 'unknown strategy "foo" (known: sigma, quantile, rto, adaptive, seed)',
      },
    ]);
  });

  it('does not glue settings to a name when the bar has no spaces around it', () => {
    assert.deepEqual(reasons('shipping|alpha=0.01\n'), [
      [1, 'settings must follow " | " (a space on each side of the bar): "|alpha=0.01"'],
    ]);
    // A pipe inside a name (no settings after it) is still a name.
    assert.deepEqual(parseEndpointList('/a|b\n').names, ['/a|b']);
  });

  it('reports a repeated endpoint with other settings (the first line wins)', () => {
    const list = parseEndpointList('x | alpha=0.1\nx | alpha=0.1\nx | alpha=0.2\n');
    assert.deepEqual(list.entries, [{ name: 'x', options: { alpha: 0.1 } }]);
    assert.deepEqual(
      list.rejected.map((r) => [r.line, r.reason]),
      [[3, '"x" is already listed on line 1 with other settings; that line is used']],
    );
  });
});

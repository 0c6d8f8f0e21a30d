// Parsing the endpoint list file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointList, readEndpointList } from './endpoints-file.ts';

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
});

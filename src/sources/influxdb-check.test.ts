// The InfluxDB source's readiness check against a stand-in for the 2.x/3.x v1 API (token auth, listed databases).
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SourceDatabaseNotFoundError, SourceQueryError } from '../core/errors.ts';
import { createInfluxSource } from './influxdb.ts';

/** What the stand-in saw of each request: headers and form body. */
const seen: { headers: IncomingHttpHeaders; body: URLSearchParams }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    seen.push({ headers: req.headers, body: new URLSearchParams(body) });
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization === 'Token proxy') {
      res.end('{"status":"ok","upstream":"somewhere"}\n'); // JSON, but not InfluxDB's answer
      return;
    }
    if (req.headers.authorization !== 'Token good-token') {
      res.statusCode = 401;
      res.end(JSON.stringify({ code: 'unauthorized', message: 'unauthorized access' }));
      return;
    }
    res.end(
      JSON.stringify({
        results: [
          {
            statement_id: 0,
            series: [
              { name: 'databases', columns: ['name'], values: [['_monitoring'], ['tracing']] },
            ],
          },
        ],
      }) + '\n',
    );
  });
});
let url = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('influxdb source check()', () => {
  it('passes when the token is accepted and the database is listed', async () => {
    await createInfluxSource({ url, database: 'tracing', token: 'good-token' }).check();
    const [show, select] = seen.slice(-2);
    assert.equal(show?.body.get('q'), 'SHOW DATABASES');
    assert.equal(show?.body.get('u'), null, 'a token replaces user and password');
    assert.equal(
      select?.body.get('q'),
      'SELECT "duration" FROM "span" ORDER BY time DESC LIMIT 1',
      'and one point of the measurement is read',
    );
    assert.equal(select?.body.get('db'), 'tracing');
  });

  it('fails with the databases it saw when the database is not listed', async () => {
    await assert.rejects(
      createInfluxSource({ url, database: 'nope', token: 'good-token' }).check(),
      (err: unknown) =>
        err instanceof SourceDatabaseNotFoundError &&
        err.statusCode === 503 &&
        /no database "nope".*\(it lists: _monitoring, tracing\)/.test(err.message),
    );
  });

  it("fails with the server's own words when the token is refused (2.x/3.x error shape)", async () => {
    await assert.rejects(
      createInfluxSource({ url, database: 'tracing', token: 'bad' }).check(),
      (err: unknown) => err instanceof SourceQueryError && /unauthorized access/.test(err.message),
    );
  });

  it('fails on JSON that is not an InfluxDB answer, rather than reading it as no data', async () => {
    const source = createInfluxSource({ url, database: 'tracing', token: 'proxy' });
    await assert.rejects(
      source.check(),
      (err: unknown) =>
        err instanceof SourceQueryError && /not an InfluxDB answer/.test(err.message),
    );
    await assert.rejects(source.fetchWindow('/x', { windowHours: 1, limit: 10 }), SourceQueryError);
  });
});

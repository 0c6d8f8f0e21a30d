// The keep-alive client against real servers on 127.0.0.1: answers, reuse, time-outs, refusals.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { ReplyTooLargeError } from './errors.ts';
import { describeRequestError, httpRequest } from './http-client.ts';

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.closeAllConnections();
  return Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('httpRequest', () => {
  it('sends method, headers and body, reads status and text, and reuses the connection', async () => {
    let connections = 0;
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.statusCode = req.method === 'POST' ? 201 : 200;
        res.end(`${req.method} ${req.headers['content-type']} ${body} ✓`);
      });
    });
    servers.at(-1)?.on('connection', () => connections++);
    const a = await httpRequest(`${url}/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"é":1}',
      timeoutMs: 2000,
    });
    assert.equal(a.status, 201);
    assert.equal(a.text, 'POST application/json {"é":1} ✓');
    const b = await httpRequest(`${url}/y`, { timeoutMs: 2000 });
    assert.equal(b.text, 'GET undefined  ✓');
    assert.equal(connections, 1, 'the second request went over the kept-alive socket');
  });

  it('splits a body into lines across chunk boundaries, even inside a character', async () => {
    const body = Buffer.from('{"a":"é"}\n\n{"b":"✓✓"}\nlast, no newline');
    const url = await serve((_req, res) => {
      // Written in pieces that cut a line, the two-byte é and the three-byte ✓ in half.
      const cuts = [3, 7, 12, 17, 18, body.length];
      let from = 0;
      const next = () => {
        const to = cuts.shift();
        if (to === undefined) return void res.end();
        res.write(body.subarray(from, to));
        from = to;
        setTimeout(next, 5);
      };
      next();
    });
    const r = await httpRequest(url, { timeoutMs: 2000 });
    assert.deepEqual(r.lines(), ['{"a":"é"}', '{"b":"✓✓"}', 'last, no newline']);
    assert.equal(r.text, body.toString('utf8'));
  });

  it('fails with a TimeoutError when no answer comes, and when the body stalls half-way', async () => {
    const silent = await serve(() => {
      // never answers
    });
    await assert.rejects(httpRequest(silent, { timeoutMs: 100 }), (err: Error) => {
      assert.equal(err.name, 'TimeoutError');
      assert.equal(describeRequestError(err), 'no answer within 100 ms');
      return true;
    });
    const stalling = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part of it');
    });
    await assert.rejects(httpRequest(stalling, { timeoutMs: 150 }), { name: 'TimeoutError' });
  });

  it('fails with the socket error as the cause when nothing listens', async () => {
    const url = await serve(() => undefined);
    const server = servers.pop() as Server;
    await new Promise((r) => server.close(r));
    await assert.rejects(httpRequest(url, { timeoutMs: 2000 }), (err: Error) => {
      assert.equal((err.cause as { code?: string }).code, 'ECONNREFUSED');
      assert.equal(describeRequestError(err), 'connection failed: ECONNREFUSED');
      return true;
    });
  });

  it('stops reading an endless body at maxBodyBytes, drops the connection and says the limit', async () => {
    let written = 0;
    let closed: () => void = () => undefined;
    const serverSawClose = new Promise<void>((r) => (closed = r));
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      // An endless body, written as fast as the socket takes it (a chunk per turn of the loop).
      const pump = () => {
        if (res.destroyed) return;
        written += chunk.length;
        if (res.write(chunk)) setImmediate(pump);
        else res.once('drain', pump);
      };
      res.on('close', closed);
      pump();
    });
    const started = Date.now();
    await assert.rejects(
      httpRequest(url, { timeoutMs: 10_000, maxBodyBytes: 64 * 1024 }),
      (err: Error) => {
        assert.ok(err instanceof ReplyTooLargeError);
        assert.equal(err.code, 'REPLY_TOO_LARGE');
        assert.equal(describeRequestError(err), 'answer larger than the 64 KiB limit');
        return true;
      },
    );
    assert.ok(Date.now() - started < 5000, 'failed at the limit, not at the time-out');
    await serverSawClose; // the peer's connection was dropped, so it cannot keep sending
    assert.ok(written > 64 * 1024, `the server sent more than the limit (${written} bytes)`);
  });

  it('refuses a body whose content-length is above maxBodyBytes before reading it', async () => {
    let bodyWritten = false;
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.flushHeaders();
      // The body would come later; the client must not wait for it.
      setTimeout(() => {
        bodyWritten = true;
        if (!res.destroyed) res.end(Buffer.alloc(10 * 1024 * 1024));
      }, 500);
    });
    await assert.rejects(
      httpRequest(url, { timeoutMs: 10_000, maxBodyBytes: 1024 * 1024 }),
      (err: Error) => err instanceof ReplyTooLargeError && /1 MiB limit/.test(err.message),
    );
    assert.equal(bodyWritten, false, 'failed on the headers alone');
  });

  it('reads a body of exactly maxBodyBytes, and any body without a limit', async () => {
    const body = Buffer.alloc(100_000, 0x61);
    const url = await serve((_req, res) => {
      // Chunked (no content-length): the limit is counted as the bytes arrive.
      res.write(body.subarray(0, 50_000));
      res.end(body.subarray(50_000));
    });
    assert.equal(
      (await httpRequest(url, { timeoutMs: 2000, maxBodyBytes: 100_000 })).text.length,
      100_000,
    );
    assert.equal((await httpRequest(url, { timeoutMs: 2000 })).text.length, 100_000);
    await assert.rejects(
      httpRequest(url, { timeoutMs: 2000, maxBodyBytes: 99_999 }),
      ReplyTooLargeError,
    );
  });
});

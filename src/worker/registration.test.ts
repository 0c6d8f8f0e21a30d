// Registration's retries: a broker that stays unreachable is logged once per error, not once per retry.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { freePort } from '../../test/helpers/influxd.ts';
import { Registration } from './registration.ts';

describe('Registration', () => {
  it('logs an unreachable broker once, then that it is back, then the registration', async () => {
    const port = await freePort(); // nothing listens there yet
    const lines: [string, string][] = [];
    const reg = new Registration({
      brokerUrl: `http://127.0.0.1:${port}`,
      advertiseUrl: 'http://127.0.0.1:1',
      concurrency: 1,
      maxBatch: 1,
      heartbeatMs: 60_000,
      retryInitialMs: 5,
      retryMaxMs: 10,
      log: {
        info: (_o, msg) => lines.push(['info', msg]),
        warn: (_o, msg) => lines.push(['warn', msg]),
      },
    });
    reg.start();
    await new Promise((resolve) => setTimeout(resolve, 300)); // ~20 retries
    assert.deepEqual(lines, [['warn', 'broker unreachable; will retry']]);

    const broker = createServer((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'w1', url: 'http://127.0.0.1:1', leaseMs: 30_000 }));
    });
    await new Promise<void>((resolve) => broker.listen(port, '127.0.0.1', resolve));
    try {
      const deadline = Date.now() + 3000;
      while (reg.workerId === undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(reg.workerId, 'w1');
      assert.deepEqual(lines.slice(1), [
        ['info', 'registered with broker'],
        ['info', 'broker reachable again'],
      ]);
      await reg.stop();
    } finally {
      broker.closeAllConnections();
      await new Promise((resolve) => broker.close(resolve));
    }
  });
});

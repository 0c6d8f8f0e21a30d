// Source `otlp` through the shared LatencySource conformance suite, against a real broker's windows route.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { JitError } from '../../src/core/errors.ts';
import { latencySourceConformance } from '../../src/sources/latency-source.conformance.ts';
import { createSource } from '../../src/sources/registry.ts';

const TOKEN = 'worker-token-0123456789';

describe('otlp source', () => {
  let b: RunningBroker | undefined;
  // Each seed is newer than everything seeded before, and within the window.
  let t = Date.now() - 3_600_000;
  latencySourceConformance('otlp', async () => {
    b = await startBroker(
      brokerConfig({ port: 0, otlpPort: 0, workerToken: TOKEN, cyclePauseMs: 600_000 }),
      { logger: false },
    );
    const broker = b;
    return {
      source: createSource('otlp', { brokerUrl: broker.url, workerToken: TOKEN }),
      async seed(endpoint, durationsMs) {
        await broker.otlp?.windows.append(
          durationsMs.map((durationMs) => ({
            endpoint,
            startMs: (t += 1000),
            // The windows keep durations > 0; the suite's 0 ms stands for the shortest span.
            durationMs: durationMs === 0 ? 0.001 : durationMs,
            failed: false,
          })),
        );
        return true;
      },
      teardown: () => broker.close(),
    };
  });

  it('check() fails with the reason when the token is wrong or the receiver is off', async () => {
    const off = await startBroker(brokerConfig({ port: 0 }), { logger: false });
    try {
      await assert.rejects(createSource('otlp', { brokerUrl: off.url }).check(), (err: unknown) => {
        assert.ok(err instanceof JitError);
        assert.match(err.message, /OTLP_RECEIVER_OFF/);
        return true;
      });
    } finally {
      await off.close();
    }
    const on = await startBroker(brokerConfig({ port: 0, otlpPort: 0, workerToken: TOKEN }), {
      logger: false,
    });
    try {
      await assert.rejects(
        createSource('otlp', { brokerUrl: on.url, workerToken: 'wrong-token-0123456789' }).check(),
        /UNAUTHORIZED/,
      );
      await createSource('otlp', { brokerUrl: on.url, workerToken: TOKEN }).check();
    } finally {
      await on.close();
    }
  });
});

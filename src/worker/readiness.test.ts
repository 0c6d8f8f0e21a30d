// SourceReadiness: what it logs (once per reason, once when ready), when it retries, when it calls back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SourceUnavailableError } from '../core/errors.ts';
import type { LatencySource } from '../sources/types.ts';
import { SourceReadiness } from './readiness.ts';

/** A source whose check() answers the next scripted outcome: "ok", or an error with that message. */
function scripted(outcomes: string[]) {
  let calls = 0;
  const source: LatencySource = {
    name: 'scripted',
    fetchWindow: () => Promise.resolve({ durationsMs: [], timestampsMs: undefined }),
    check: () => {
      const next = outcomes[Math.min(calls++, outcomes.length - 1)];
      return next === 'ok'
        ? Promise.resolve()
        : Promise.reject(new SourceUnavailableError('scripted', next ?? ''));
    },
  };
  return { source, calls: () => calls };
}

function recorder() {
  const lines: [string, string, object][] = [];
  return {
    lines,
    log: {
      info: (obj: object, msg: string) => lines.push(['info', msg, obj]),
      warn: (obj: object, msg: string) => lines.push(['warn', msg, obj]),
    },
  };
}

describe('SourceReadiness', () => {
  it('logs a reason once, again only when it changes, and once when ready', async () => {
    const { source } = scripted(['down', 'down', 'other', 'other', 'ok', 'ok', 'down']);
    const { lines, log } = recorder();
    const r = new SourceReadiness({ source, log });
    for (let i = 0; i < 7; i++) await r.check();
    assert.deepEqual(
      lines.map(([level, msg]) => [level, msg]),
      [
        ['warn', 'source not ready: latency source scripted is unreachable: down'],
        ['warn', 'source not ready: latency source scripted is unreachable: other'],
        ['info', 'source ready'],
        ['warn', 'source not ready: latency source scripted is unreachable: down'],
      ],
    );
    assert.equal((lines[0]?.[2] as { code?: string }).code, 'SOURCE_UNAVAILABLE');
    assert.deepEqual(r.state, {
      ready: false,
      reason: 'latency source scripted is unreachable: down',
    });
  });

  it('retries while not ready, stops retrying once ready, and calls onceReady once', async () => {
    const { source, calls } = scripted(['down', 'down', 'ok']);
    const { log } = recorder();
    const r = new SourceReadiness({ source, log, retryMs: 10 });
    let readyCalls = 0;
    r.onceReady(() => readyCalls++);
    assert.equal(r.state.ready, false);
    r.start();
    const deadline = Date.now() + 2000;
    while (!r.state.ready && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    assert.equal(r.state.ready, true);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(calls(), 3, 'no checks once ready');
    assert.equal(readyCalls, 1);
    r.onceReady(() => readyCalls++); // already ready: at once
    assert.equal(readyCalls, 2);
    r.stop();
  });

  it('joins a check in flight instead of starting a second one', async () => {
    const { source, calls } = scripted(['ok']);
    const r = new SourceReadiness({ source, log: recorder().log });
    await Promise.all([r.check(), r.check(), r.check()]);
    assert.equal(calls(), 1);
  });

  it('after stop(), no retry runs and onceReady callbacks never fire', async () => {
    const { source, calls } = scripted(['down', 'ok']);
    const r = new SourceReadiness({ source, log: recorder().log, retryMs: 10 });
    let fired = false;
    r.onceReady(() => (fired = true));
    r.start();
    await new Promise((res) => setTimeout(res, 0));
    r.stop();
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(calls(), 1);
    assert.equal(fired, false);
  });
});

// Serving: CPU per request of GET /gettimeout and /v1/timeouts with the hot-read listener on and off.
// Two brokers on a 10 000-endpoint memory store, one with the listener and one with
// `hotReads: false`, pinned to core 0 (taskset), loaded in alternating 2 s autocannon rounds
// (10 connections, 200 URLs of both routes); CPU per request from /proc. Round 0 is warm-up.
//   node --import tsx benchmarks/serving/hot-on-off.ts 6        # rounds (default 6)
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
const role = process.argv[2];
if (role === 'server') {
  const { buildBroker } = await import('../../src/broker/app.ts');
  const { brokerConfig } = await import('../../src/broker/config.ts');
  const { MemoryStore } = await import('../../src/store/memory-store.ts');
  const { info } = await import('../../src/store/timeout-store.conformance.ts');
  const store = new MemoryStore();
  const names = Array.from({ length: 10000 }, (_, i) => `svc-${i}/api/v1/items`);
  store.syncEndpoints(names.map((name) => ({ name, options: {} })));
  for (const n of names) store.recordSuccess(n, 100 + (n.length % 50), info(120), new Date());
  writeFileSync('/tmp/bench-hot.config', names.join('\n'));
  const b = buildBroker(
    brokerConfig({
      host: '127.0.0.1',
      port: 0,
      endpointsFile: '/tmp/bench-hot.config',
      cyclePauseMs: 3600000,
    }),
    { store, logger: false, hotReads: process.argv[3] === 'on' },
  );
  await b.app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({
    port: (b.app.server.address() as { port: number }).port,
    active: b.hotReads.active,
  });
} else {
  const cpu = (pid: number) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10000; /* µs at 100 Hz */
  };
  const start = (mode: string) =>
    new Promise<{ pid: number; port: number; active: boolean }>((resolve) => {
      const c = spawn(
        'taskset',
        [
          '-c',
          '0',
          process.execPath,
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          'server',
          mode,
        ],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      c.on('message', (m: { port: number; active: boolean }) => resolve({ pid: c.pid!, ...m }));
    });
  const on = await start('on');
  const off = await start('off');
  console.log('listener active:', on.active, off.active);
  const paths = Array.from({ length: 200 }, (_, i) =>
    i % 2
      ? `/gettimeout?url=svc-${i * 37}%2Fapi%2Fv1%2Fitems`
      : `/v1/timeouts/svc-${i * 37}%2Fapi%2Fv1%2Fitems`,
  );
  const res: Record<string, { req: number; cpu: number }> = {
    on: { req: 0, cpu: 0 },
    off: { req: 0, cpu: 0 },
  };
  const rounds = Number(process.argv[2] ?? 6);
  for (let r = 0; r < rounds; r++) {
    for (const [name, s] of (r % 2
      ? [
          ['off', off],
          ['on', on],
        ]
      : [
          ['on', on],
          ['off', off],
        ]) as [string, typeof on][]) {
      const c0 = cpu(s.pid);
      const a = await autocannon({
        url: `http://127.0.0.1:${s.port}`,
        connections: 10,
        duration: 2,
        requests: paths.map((path) => ({ path })),
      });
      const c1 = cpu(s.pid);
      // Round 0 warms both up (JIT): left out of the totals.
      if (r > 0) {
        res[name]!.req += a.requests.total;
        res[name]!.cpu += c1 - c0;
      }
      console.log(
        `round ${r} ${name}: ${Math.round(a.requests.average)} req/s, ${((c1 - c0) / a.requests.total).toFixed(1)} µs CPU/request, non-2xx ${a.non2xx}`,
      );
    }
  }
  for (const k of ['on', 'off'])
    console.log(
      `${k}: ${(res[k]!.cpu / res[k]!.req).toFixed(1)} µs CPU per request over ${res[k]!.req} requests`,
    );
  process.kill(on.pid);
  process.kill(off.pid);
}

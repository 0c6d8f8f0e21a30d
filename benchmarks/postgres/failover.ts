// Failover benchmark: three broker processes on one PostgreSQL, one worker; kill -9 the leader
// ten times and measure the time from the kill until a new leader has written a new value.
// Usage: node --import tsx benchmarks/postgres/failover.ts [--kills 10] [--lease-ms 2000]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../../test/helpers/postgres.ts';
import { jsonLines, killAll, spawnJit, type JitProcess } from '../../test/helpers/processes.ts';
import { numberOption } from '../lib/cli.ts';

const rest = process.argv.slice(2);
const kills = numberOption(rest, 'kills', 10);
const leaseMs = numberOption(rest, 'lease-ms', 2000);
const dir = mkdtempSync(join(tmpdir(), 'jit-pg-failover-'));
const file = join(dir, 'endpoints.config');
writeFileSync(file, Array.from({ length: 20 }, (_, i) => `/api/e${i}`).join('\n') + '\n');
const pg = await startPostgres();
const url = await pg.createDatabase('failover');
const said = (p: JitProcess, msg: string) =>
  jsonLines(p.stdout()).filter((l) => typeof l.msg === 'string' && l.msg.includes(msg)).length;
const start = (port = '0') =>
  spawnJit(
    [
      'broker',
      '--port',
      port,
      '--store',
      url,
      '--endpoints',
      file,
      '--cycle-pause-ms',
      '200',
      '--leader-lease-ms',
      String(leaseMs),
    ],
    { env: { JIT_STORE: url }, listenDeadlineMs: 60_000 },
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const maxComputed = async () =>
  Number(
    (
      await pg.query<{ m: number | null }>(
        'SELECT max(computed_at_ms) AS m FROM jit_endpoints',
        [],
        'failover',
      )
    )[0]?.m ?? 0,
  );
const results: number[] = [];
try {
  const brokers: JitProcess[] = [await start(), await start(), await start()];
  // The worker registers with the last broker; every broker knows it through the store.
  await spawnJit(
    [
      'worker',
      '--port',
      '0',
      '--broker',
      brokers[2]!.url,
      '--source',
      'synthetic',
      '--heartbeat-ms',
      '500',
    ],
    { listenDeadlineMs: 60_000 },
  );
  for (let k = 0; k < kills; k++) {
    let leader: JitProcess | undefined;
    while (!leader) {
      leader = brokers.find((b) => said(b, 'leader lease taken') > said(b, 'cycles stop here'));
      if (!leader) await sleep(50);
    }
    while ((await maxComputed()) < Date.now() - 1000) await sleep(50);
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    while ((await maxComputed()) <= killedAt) await sleep(25);
    const took = Date.now() - killedAt;
    results.push(took);
    process.stderr.write(`kill ${k + 1}: next value written ${took} ms after the kill\n`);
    // The killed broker comes back on its port (a fresh process on the same store), so the
    // worker's heartbeats to it reach a broker again.
    brokers[brokers.indexOf(leader)] = await start(new URL(leader.url).port);
  }
} finally {
  await killAll();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
const sorted = [...results].sort((a, b) => a - b);
console.log(
  `lease ${leaseMs} ms, ${results.length} kills: median ${sorted[Math.floor(sorted.length / 2)]} ms, ` +
    `min ${sorted[0]} ms, max ${sorted.at(-1)} ms (all: ${results.join(', ')})`,
);

// PostgreSQL store benchmark: cycle time per 1000 endpoints, broker RSS, rows and bytes per
// computation in PostgreSQL, and read throughput of a PG-backed against a SQLite-backed broker.
// The broker runs in this process, two workers (synthetic source) as processes; PostgreSQL is a
// throw-away cluster (test/helpers/postgres.ts).
// With --history-hours H (default 24), each endpoint's history is then filled back to H hours at
// one computation per --history-step-minutes (default 5), and a fresh broker process loads it
// (view-memory.ts): its RSS and heap are the "with a day of history" figures. With
// --history-endpoints V (more than the size), the computed endpoints' rows are first copied to
// make V endpoints (names and values as the workers made them, one copy per missing name), so
// the memory of V endpoints is measured without computing V of them on this machine. With
// --dist DIR, the fresh broker runs the compiled tree in DIR (as installed: no tsx loader).
// Usage: node --import tsx benchmarks/postgres/run.ts [--sizes 1000,10000] [--cycles 2] [--seconds 5]
//   [--history-hours 24] [--history-step-minutes 5] [--history-endpoints V] [--dist DIR]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import type { PgStore } from '../../src/store/pg-store.ts';
import { startPostgres } from '../../test/helpers/postgres.ts';
import { spawnJit } from '../../test/helpers/processes.ts';
import { numberOption } from '../lib/cli.ts';

const rest = process.argv.slice(2);
const sizesArg = rest[rest.indexOf('--sizes') + 1];
const sizes =
  rest.includes('--sizes') && sizesArg ? sizesArg.split(',').map(Number) : [1000, 10_000];
const cycles = numberOption(rest, 'cycles', 2);
const seconds = numberOption(rest, 'seconds', 5);
const historyHours = numberOption(rest, 'history-hours', 24);
const stepMinutes = numberOption(rest, 'history-step-minutes', 5);
const historyEndpoints = numberOption(rest, 'history-endpoints', 0);
/** A compiled tree (`npm run build`'s dist/) a fresh broker runs too, as installed. */
const distDir = rest.includes('--dist') ? rest[rest.indexOf('--dist') + 1] : undefined;
const dir = mkdtempSync(join(tmpdir(), 'jit-pg-bench-'));
const rssMb = () => Math.round(process.memoryUsage().rss / 1048576);

const pg = await startPostgres();
/** Printed as soon as measured (a long run may be stopped). */
const out = { push: (line: string) => console.log(line) };
out.push(`cpus: ${cpus().length} × ${cpus()[0]?.model ?? '?'}`);
try {
  for (const n of sizes) {
    const url = await pg.createDatabase(`b${n}`);
    const file = join(dir, `endpoints-${n}.config`);
    writeFileSync(
      file,
      Array.from({ length: n }, (_, i) => `/api/service-${i}/op`).join('\n') + '\n',
    );
    const broker = await startBroker(
      brokerConfig({
        port: 0,
        store: url,
        endpointsFile: file,
        cyclePauseMs: 3_600_000, // cycles are run below, one at a time
        maxEndpoints: 200_000,
        batchSize: 64,
        callTimeoutMs: 120_000,
      }),
      { logger: false },
    );
    // Workers in their own processes: the broker's RSS and event loop are its own.
    const workers = await Promise.all(
      [0, 1].map(() =>
        spawnJit(
          [
            'worker',
            '--port',
            '0',
            '--broker',
            broker.url,
            '--source',
            'synthetic',
            '--heartbeat-ms',
            '5000',
            '--max-batch',
            '64',
          ],
          { listenDeadlineMs: 60_000 },
        ),
      ),
    );
    const store = broker.store as PgStore;
    // The first cycle runs when the lease is taken (no workers yet, or some): wait for workers.
    while (broker.registry.list().length < 2) await new Promise((r) => setTimeout(r, 100));
    await broker.cycles.runCycle();
    await store.flush();
    const times: number[] = [];
    const durable: number[] = [];
    for (let c = 0; c < cycles; c++) {
      const t0 = performance.now();
      const s = await broker.cycles.runCycle();
      const t1 = performance.now();
      await store.flush();
      times.push(t1 - t0);
      durable.push(performance.now() - t0);
      if (s.done !== n) out.push(`  (cycle ${c}: ${s.done} of ${n} done, ${s.failed} failed)`);
    }
    const db = `b${n}`;
    const [rows] = await pg.query<{
      history: string;
      endpoints: string;
      hist_bytes: string;
      ep_bytes: string;
    }>(
      `SELECT (SELECT count(*) FROM jit_history)::text AS history,
              (SELECT count(*) FROM jit_endpoints)::text AS endpoints,
              pg_total_relation_size('jit_history')::text AS hist_bytes,
              pg_total_relation_size('jit_endpoints')::text AS ep_bytes`,
      [],
      db,
    );
    const perCycle = times.map((t) => ((t / n) * 1000).toFixed(0)).join(', ');
    const perDurable = durable.map((t) => ((t / n) * 1000).toFixed(0)).join(', ');
    const histRows = Number(rows?.history);
    out.push(
      `${n} endpoints: cycle ${times.map((t) => (t / 1000).toFixed(1)).join(', ')} s ` +
        `(${perCycle} ms per 1000); until durable ${perDurable} ms per 1000; ` +
        `broker RSS ${rssMb()} MB; ` +
        `history ${histRows} rows, ${(Number(rows?.hist_bytes) / histRows).toFixed(0)} bytes per computation ` +
        `(table + indexes); endpoints table ${(Number(rows?.ep_bytes) / n).toFixed(0)} bytes per endpoint`,
    );
    for (const w of workers) await w.kill();
    await broker.close();
    if (historyHours > 0) await dayOfHistory(n, db, url, file);
  }

  /**
   * Fills each endpoint's history back to `historyHours`: copies of its latest real point (same
   * values, reason and percentiles) before its first one, `stepMinutes` apart, as many as make
   * `historyHours * 60 / stepMinutes` points. Then a fresh broker process loads the database.
   */
  async function dayOfHistory(computed: number, db: string, url: string, computedFile: string) {
    const perEndpoint = Math.round((historyHours * 60) / stepMinutes);
    const t0 = performance.now();
    const n = Math.max(computed, historyEndpoints);
    let file = computedFile;
    if (n > computed) {
      // Endpoint i (from `computed` on) is a copy of computed endpoint i mod `computed`.
      const copyOf = `'/api/service-' || (i % $1::int) || '/op'`;
      await pg.query(
        `INSERT INTO jit_endpoints (name, origin, options, stored_ms, status, computed_at_ms,
           attempted_at_ms, last, last_error, deleted, tx)
         SELECT '/api/service-' || i || '/op', e.origin, e.options, e.stored_ms, e.status,
           e.computed_at_ms, e.attempted_at_ms, e.last, e.last_error, e.deleted, e.tx
         FROM generate_series($1::int, $2::int - 1) i JOIN jit_endpoints e ON e.name = ${copyOf}`,
        [computed, n],
        db,
      );
      await pg.query(
        `INSERT INTO jit_history (endpoint, at_ms, ok, computed_ms, stored_ms, served_ms, strategy,
           samples, percentiles, error, writer, reason, tx)
         SELECT '/api/service-' || i || '/op', h.at_ms, h.ok, h.computed_ms, h.stored_ms,
           h.served_ms, h.strategy, h.samples, h.percentiles, h.error, h.writer, h.reason, h.tx
         FROM generate_series($1::int, $2::int - 1) i JOIN jit_history h ON h.endpoint = ${copyOf}`,
        [computed, n],
        db,
      );
      file = join(dir, `endpoints-${n}.config`);
      writeFileSync(
        file,
        Array.from({ length: n }, (_, i) => `/api/service-${i}/op`).join('\n') + '\n',
      );
      out.push(`  copied the ${computed} computed endpoints' rows to make ${n} endpoints`);
    }
    await pg.query(
      `INSERT INTO jit_history (endpoint, at_ms, ok, computed_ms, stored_ms, served_ms, strategy,
         samples, percentiles, error, writer, reason, tx)
       SELECT h.endpoint, f.first_at - k * $1::float8, h.ok, h.computed_ms, h.stored_ms, h.served_ms,
         h.strategy, h.samples, h.percentiles, h.error, 'bench-prefill', h.reason, pg_current_xact_id()::text::bigint
       FROM (SELECT DISTINCT ON (endpoint) * FROM jit_history ORDER BY endpoint, at_ms DESC) h
       JOIN (SELECT endpoint, min(at_ms) AS first_at, count(*)::int AS n FROM jit_history GROUP BY endpoint) f
         USING (endpoint)
       CROSS JOIN LATERAL generate_series(1, $2::int - f.n) k`,
      [stepMinutes * 60_000, perEndpoint],
      db,
    );
    // The workers are gone: the fresh broker finds nobody to compute with, so the view stays as loaded.
    await pg.query('DELETE FROM jit_workers', [], db);
    await pg.query('ANALYZE', [], db);
    const [rows] = await pg.query<{ history: string; hist_bytes: string }>(
      `SELECT (SELECT count(*) FROM jit_history)::text AS history,
              pg_total_relation_size('jit_history')::text AS hist_bytes`,
      [],
      db,
    );
    out.push(
      `  ${historyHours} h of history (${perEndpoint} points per endpoint, ${stepMinutes} min apart): ` +
        `${rows?.history} rows, ${Math.round(Number(rows?.hist_bytes) / 1048576)} MB, filled in ` +
        `${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    const script = fileURLToPath(new URL('./view-memory.mjs', import.meta.url));
    const runs: [string, string[]][] = [
      ['src/ through tsx', ['--expose-gc', '--import', 'tsx', script, url, file]],
    ];
    if (distDir) runs.unshift(['compiled', ['--expose-gc', script, url, file, distDir]]);
    for (const [label, args] of runs) {
      try {
        const { stdout } = await promisify(execFile)(process.execPath, args, {
          maxBuffer: 1 << 20,
        });
        out.push(`  fresh broker on it (${n} endpoints, ${label}): ${stdout.trim()}`);
      } catch (err) {
        out.push(
          `  fresh broker on it (${n} endpoints, ${label}) failed: ${(err as Error).message}`,
        );
      }
    }
  }

  // Read throughput: the same 1000 endpoints served by a PG-backed and a SQLite-backed broker.
  const n = 1000;
  const file = join(dir, `endpoints-${n}.config`);
  // Written again: a run whose --sizes lacks 1000 has no such file (its brokers waited forever).
  writeFileSync(
    file,
    Array.from({ length: n }, (_, i) => `/api/service-${i}/op`).join('\n') + '\n',
  );
  const read = async (label: string, broker: RunningBroker) => {
    // Every endpoint gets a value, so the answers are the served ones, not the default.
    for (let i = 0; i < n; i++) {
      broker.store.recordSuccess(
        `/api/service-${i}/op`,
        50,
        {
          computedMs: 50,
          strategy: 'quantile',
          method: 'q',
          samples: 100,
          meanMs: 40,
          sdMs: 5,
          percentilesMs: { p50: 40 },
          computeMs: 1,
          workerId: 'bench',
          censored: 0,
          state: undefined,
          servedMs: 55,
        },
        new Date(),
      );
    }
    const r = await autocannon({
      url: `${broker.url}/gettimeout?url=${encodeURIComponent('/api/service-7/op')}`,
      connections: 10,
      duration: seconds,
    });
    out.push(
      `${label}: ${Math.round(r.requests.average)} requests/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, errors ${r.errors + r.non2xx}`,
    );
  };
  for (const [label, store] of [
    ['PostgreSQL-backed', await pg.createDatabase('reads')],
    ['SQLite-backed', join(dir, 'reads.db')],
  ] as const) {
    const broker = await startBroker(
      brokerConfig({ port: 0, store, endpointsFile: file, cyclePauseMs: 3_600_000 }),
      { logger: false },
    );
    while (broker.store.size < n) await new Promise((r) => setTimeout(r, 50));
    await read(label, broker);
    await broker.close();
  }
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}

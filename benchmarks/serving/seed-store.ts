// Fills a broker store file with N endpoints and a week of history at one value per 5 minutes.
// Usage: node --import tsx benchmarks/serving/seed-store.ts STORE.db ENDPOINTS.config [endpoints=10000] [historyDays=7]
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { servedTimeout } from '../../src/core/serving.ts';

const [storePath = 'bench.db', listPath = 'bench.config', countArg = '10000', daysArg = '7'] =
  process.argv.slice(2);
const count = Number(countArg);
const days = Number(daysArg);
const names = Array.from({ length: count }, (_, i) => `/api/service-${i}`);
writeFileSync(listPath, `${names.join('\n')}\n`);

// Endpoint rows through the store itself (so the format is the real one)…
const store = new SqliteStore({ path: storePath });
store.syncEndpoints(names.map((name) => ({ name, options: {} })));
const now = Date.now();
for (const [i, name] of names.entries()) {
  const v = 20 + (i % 500);
  store.recordSuccess(
    name,
    v,
    {
      computedMs: v,
      strategy: 'adaptive',
      method: 'aci-quantile',
      samples: 5000,
      meanMs: v / 3,
      sdMs: v / 10,
      percentilesMs: { p50: v / 4, p90: v / 2, p95: v / 1.5, p99: v / 1.2, p999: v, max: v * 1.5 },
      computeMs: 2,
      workerId: 'bench',
      censored: 0,
      state: { level: 0.001 },
      servedMs: servedTimeout(v),
    },
    new Date(now),
  );
}
store.close();

// …and the history in bulk (a week × 288 points a day per endpoint), one transaction per endpoint.
const db = new Database(storePath);
const insert = db.prepare(
  'INSERT INTO history (endpoint, at_ms, ok, computed_ms, stored_ms, served_ms, strategy, samples, percentiles, error) VALUES (?, ?, 1, ?, ?, ?, ?, 5000, ?, NULL)',
);
const points = days * 288;
const started = Date.now();
const fill = db.transaction((name: string, v: number) => {
  for (let k = points; k > 0; k--) {
    const at = now - k * 300_000;
    insert.run(
      name,
      at,
      v,
      v,
      servedTimeout(v),
      'adaptive',
      `{"p50":${v / 4},"p99":${v / 1.2},"p999":${v}}`,
    );
  }
});
for (const [i, name] of names.entries()) {
  fill(name, 20 + (i % 500));
  if (i % 1000 === 999)
    process.stderr.write(`${i + 1} endpoints, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
db.close();
process.stderr.write(`seeded ${count} endpoints × ${points} history points into ${storePath}\n`);

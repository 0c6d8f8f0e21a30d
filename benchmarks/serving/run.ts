// Serving benchmark: the broker's read routes against a bare Fastify route, same autocannon settings,
// one run; then the broker's memory with the store it serves.
// Usage: node --import tsx benchmarks/serving/run.ts STORE.db ENDPOINTS.config [--seconds 20] [--connections 10] [--rounds 3]
import { readFileSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ROOT, startListening, stopAll } from '../lib/processes.ts';

const [storePath, listPath, ...rest] = process.argv.slice(2);
if (!storePath || !listPath)
  throw new Error('usage: run.ts STORE.db ENDPOINTS.config [--seconds N]');
const opt = (name: string, def: number) => {
  const i = rest.indexOf(`--${name}`);
  return i === -1 ? def : Number(rest[i + 1]);
};
const seconds = opt('seconds', 20);
const connections = opt('connections', 10);
const rounds = opt('rounds', 3);

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function cannon(url: string, paths: string[]) {
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: paths.map((path) => ({ method: 'GET', path })),
  });
  if (r.errors || r.non2xx) throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

try {
  const bare = await startListening([
    '--import',
    'tsx',
    join(ROOT, 'benchmarks/serving/bare-server.ts'),
  ]);
  const broker = await startListening([
    join(ROOT, 'bin/jit.js'),
    'broker',
    '--port',
    '0',
    '--store',
    storePath,
    '--endpoints',
    listPath,
    '--cycle-pause-ms',
    '3600000',
  ]);
  const names = readFileSync(listPath, 'utf8').split('\n').filter(Boolean);
  const sample = names.filter((_, i) => i % Math.max(1, Math.floor(names.length / 200)) === 0);
  const targets = {
    bare: { url: bare.url, paths: ['/constant'] },
    gettimeout: {
      url: broker.url,
      paths: sample.map((n) => `/gettimeout?url=${encodeURIComponent(n)}`),
    },
    v1timeouts: {
      url: broker.url,
      paths: sample.map((n) => `/v1/timeouts/${encodeURIComponent(n)}`),
    },
  };
  const runs: Record<string, { rps: number; p50: number; p99: number }[]> = {
    bare: [],
    gettimeout: [],
    v1timeouts: [],
  };
  for (let round = 0; round < rounds; round++) {
    // Interleaved, so that a machine-wide slowdown hits all three alike.
    for (const [name, t] of Object.entries(targets)) runs[name]?.push(await cannon(t.url, t.paths));
  }
  const summary = Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => [
      name,
      {
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
      },
    ]),
  ) as Record<string, { rps: number; p50: number; p99: number }>;
  const ratio = (name: string) => ({
    rpsRatio: (summary[name]?.rps ?? 0) / (summary.bare?.rps ?? 1),
    p99Ratio: (summary[name]?.p99 ?? 0) / Math.max(1, summary.bare?.p99 ?? 1),
  });
  process.stdout.write(
    `${JSON.stringify(
      {
        machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
        seconds,
        connections,
        rounds,
        endpoints: names.length,
        summary,
        gettimeout: ratio('gettimeout'),
        v1timeouts: ratio('v1timeouts'),
        brokerRssMb: Math.round(rssMb(broker.pid)),
        storeFileMb: Math.round(statSync(storePath).size / 2 ** 20),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  stopAll();
}

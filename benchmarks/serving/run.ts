// Serving benchmark: the broker's read routes against bare Fastify routes, same autocannon
// settings, interleaved rounds in one run (then paired rounds, both loaded at once); then the
// broker's memory with the store it serves.
// Usage: node --import tsx benchmarks/serving/run.ts STORE.db ENDPOINTS.config
//          [--seconds 3] [--connections 10] [--rounds 15] [--no-pin]
import { readFileSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import {
  canPin,
  cpuSeconds,
  memoryMb,
  pinSelf,
  ROOT,
  startListening,
  stopAll,
} from '../lib/processes.ts';
import { median, numberOption } from '../lib/cli.ts';

const [storePath, listPath, ...rest] = process.argv.slice(2);
if (!storePath || !listPath)
  throw new Error('usage: run.ts STORE.db ENDPOINTS.config [--seconds N] [--rounds N]');
const opt = (name: string, def: number) => numberOption(rest, name, def);
const seconds = opt('seconds', 3);
const connections = opt('connections', 10);
const rounds = opt('rounds', 15);
// Servers on core 0, autocannon (this process) on core 1: on a 2-core machine, unpinned runs
// swing by 2× as the scheduler moves the two around.
const pin = !rest.includes('--no-pin') && canPin();
const serverCpu = pin ? { cpu: 0 } : {};

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time per answered request (µs): steadier than requests/s on a shared machine. */
  cpuUs: number;
}

async function cannon(url: string, paths: string[], pid: number): Promise<Run> {
  const cpu0 = cpuSeconds(pid);
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: paths.map((path) => ({ method: 'GET', path })),
  });
  const cpu1 = cpuSeconds(pid);
  if (r.errors || r.non2xx) throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuUs: ((cpu1 - cpu0) * 1e6) / r.requests.total,
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

try {
  if (pin) pinSelf(1);
  const started = Date.now();
  const broker = await startListening(
    [
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
    ],
    serverCpu,
  );
  const startupMs = Date.now() - started;
  const atStart = memoryMb(broker.pid);
  // Start-up work first (the first cycle prunes history past the retention: after a restart
  // that can be a backlog of many thousand rows, in small steps): measure serving once the
  // broker has been idle for a second.
  const idleFrom = Date.now();
  for (let last = cpuSeconds(broker.pid); Date.now() - idleFrom < 600_000;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuSeconds(broker.pid);
    if (now - last < 0.03) break;
    last = now;
  }
  const busyAfterStartMs = Date.now() - idleFrom;
  const afterStartupWork = memoryMb(broker.pid);
  const bare = await startListening(
    ['--import', 'tsx', join(ROOT, 'benchmarks/serving/bare-server.ts')],
    serverCpu,
  );
  const names = readFileSync(listPath, 'utf8').split('\n').filter(Boolean);
  const sample = names.filter((_, i) => i % Math.max(1, Math.floor(names.length / 200)) === 0);
  const targets = {
    bare: { ...bare, paths: ['/constant'] },
    bareJson: { ...bare, paths: ['/constant-json'] },
    // The constant again, asked with /gettimeout's query strings (Fastify parses every query).
    bareQuery: {
      ...bare,
      paths: sample.map((n) => `/constant?url=${encodeURIComponent(n)}`),
    },
    gettimeout: {
      ...broker,
      paths: sample.map((n) => `/gettimeout?url=${encodeURIComponent(n)}`),
    },
    v1timeouts: {
      ...broker,
      paths: sample.map((n) => `/v1/timeouts/${encodeURIComponent(n)}`),
    },
  };
  type Name = keyof typeof targets;
  const runs = Object.fromEntries(Object.keys(targets).map((k) => [k, [] as Run[]])) as Record<
    Name,
    Run[]
  >;
  // A short warm-up of each (JIT compilation), not counted.
  for (const t of Object.values(targets)) {
    await autocannon({ url: t.url, connections, duration: 2, requests: [{ path: t.paths[0] }] });
  }
  for (let round = 0; round < rounds; round++) {
    // Interleaved, so that a machine-wide slowdown hits all of them alike.
    for (const [name, t] of Object.entries(targets) as [Name, (typeof targets)[Name]][]) {
      runs[name].push(await cannon(t.url, t.paths, t.pid));
    }
  }
  // Paired rounds: the bare server and the broker share core 0 while two autocannons (same
  // settings) load both at once, so a change in the machine's speed hits both alike; the ratio
  // of their requests/s is then their ratio of CPU cost per answer. (Only when pinned: unpinned,
  // each server would get a core of its own.)
  const paired: Record<'gettimeout' | 'v1timeouts', number[]> = { gettimeout: [], v1timeouts: [] };
  if (pin) {
    for (let round = 0; round < rounds; round++) {
      for (const name of ['gettimeout', 'v1timeouts'] as const) {
        const t = targets[name];
        const [b, r] = await Promise.all([
          cannon(targets.bare.url, targets.bare.paths, targets.bare.pid),
          cannon(t.url, t.paths, t.pid),
        ]);
        paired[name].push(r.rps / b.rps);
      }
    }
  }
  const summary = Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => [
      name,
      {
        rps: Math.round(median(rs.map((r) => r.rps))),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        cpuUsPerRequest: round1(median(rs.map((r) => r.cpuUs))),
        rpsRuns: rs.map((r) => Math.round(r.rps)),
        cpuUsRuns: rs.map((r) => round1(r.cpuUs)),
      },
    ]),
  ) as unknown as Record<Name, { rps: number; p50: number; p99: number; cpuUsPerRequest: number }>;
  // Ratios per round (runs seconds apart, on the same machine state), then their median: the
  // machine's speed drifts by up to 2× over minutes, which medians of each target alone keep.
  const ratio = (name: Name, base: Name) => {
    const per = (f: (r: Run) => number) =>
      round1(100 * median(runs[name].map((r, i) => f(r) / f(runs[base][i] as Run)))) / 100;
    return {
      rps: per((r) => r.rps),
      p99: per((r) => Math.max(1, r.p99)),
      cpuPerRequest: per((r) => r.cpuUs),
    };
  };
  const end = memoryMb(broker.pid);
  process.stdout.write(
    `${JSON.stringify(
      {
        machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), pinned: pin },
        seconds,
        connections,
        rounds,
        endpoints: names.length,
        summary,
        vsBare: {
          gettimeout: ratio('gettimeout', 'bare'),
          v1timeouts: ratio('v1timeouts', 'bare'),
        },
        // Median over paired rounds of (broker requests/s) / (bare requests/s), loaded at once.
        vsBarePaired: pin
          ? {
              gettimeout: round1(100 * median(paired.gettimeout)) / 100,
              v1timeouts: round1(100 * median(paired.v1timeouts)) / 100,
              gettimeoutRuns: paired.gettimeout.map((x) => round1(100 * x) / 100),
              v1timeoutsRuns: paired.v1timeouts.map((x) => round1(100 * x) / 100),
            }
          : null,
        vsBareSameRequest: {
          gettimeout: ratio('gettimeout', 'bareQuery'),
          v1timeouts: ratio('v1timeouts', 'bareJson'),
        },
        broker: {
          startupMs,
          rssAtStartMb: Math.round(atStart.rss),
          busyAfterStartMs,
          rssWhenIdleMb: Math.round(afterStartupWork.rss),
          peakRssBeforeLoadMb: Math.round(afterStartupWork.peak),
          rssAtEndMb: Math.round(end.rss),
          peakRssMb: Math.round(end.peak),
        },
        storeFileMb: Math.round(statSync(storePath).size / 2 ** 20),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  stopAll();
}

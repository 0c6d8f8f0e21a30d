// Many real broker processes on one real PostgreSQL: shared values and workers, kill -9, SIGSTOP, restart, database down.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresSkip, startPostgres, type Postgres } from '../helpers/postgres.ts';
import { jsonLines, killAll, spawnJit, type JitProcess } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';

const LEASE_MS = 1500;
const NAMES = ['checkout', 'search', 'login'];
const HOSTILE = `a'; DROP TABLE jit_endpoints; -- "x" %s $1 \\ 🚀`;

interface View {
  endpoint: string;
  status: string;
  storedMs: number | null;
  timeoutMs: number;
  computedAt: string | null;
}

async function views(url: string): Promise<Map<string, View>> {
  const res = await fetch(`${url}/v1/endpoints`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { endpoints: View[] };
  return new Map(body.endpoints.map((e) => [e.endpoint, e]));
}

function said(p: JitProcess, msg: string): number {
  return jsonLines(p.stdout()).filter((l) => typeof l.msg === 'string' && l.msg.includes(msg))
    .length;
}

describe('brokers sharing PostgreSQL', { skip: postgresSkip() }, () => {
  let pgServer: Postgres;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'jit-pg-brokers-'));
  const endpointsFile = join(dir, 'endpoints.config');
  const brokers: JitProcess[] = [];
  /** Brokers the readers ask (a killed or paused one is taken out first). */
  const serving = new Set<JitProcess>();
  const readErrors: string[] = [];
  /** Per broker and endpoint, the computedAt values read, in order (must never go back). */
  const seen = new Map<string, string[]>();
  let reading = true;
  let readers: Promise<void> | undefined;

  const startBroker = async () => {
    const b = await spawnJit(
      [
        'broker',
        '--port',
        '0',
        '--store',
        url,
        '--endpoints',
        endpointsFile,
        '--cycle-pause-ms',
        '500',
        '--leader-lease-ms',
        String(LEASE_MS),
        '--call-timeout-ms',
        '3000',
      ],
      // Several brokers, workers and PostgreSQL on a shared machine: starting may be slow.
      { env: { JIT_STORE: url }, listenDeadlineMs: 60_000 },
    );
    brokers.push(b);
    serving.add(b);
    return b;
  };
  const leaderNow = async (): Promise<JitProcess> =>
    waitFor(() => {
      const leaders = [...serving].filter(
        (b) => said(b, 'leader lease taken') > said(b, 'cycles stop here'),
      );
      return leaders.length === 1 ? leaders[0] : undefined;
    }, 4 * LEASE_MS);

  before(async () => {
    pgServer = await startPostgres();
    url = await pgServer.createDatabase('brokers');
    writeFileSync(endpointsFile, NAMES.join('\n') + '\n');
    await startBroker();
    await startBroker();
    await startBroker();
    // Workers registered with different brokers: every broker must know both.
    for (const b of brokers.slice(0, 2)) {
      await spawnJit(
        [
          'worker',
          '--port',
          '0',
          '--broker',
          b.url,
          '--source',
          'synthetic',
          '--heartbeat-ms',
          '300',
        ],
        { listenDeadlineMs: 60_000 },
      );
    }
    readers = (async () => {
      while (reading) {
        for (const b of [...serving]) {
          for (const name of NAMES) {
            try {
              const res = await fetch(`${b.url}/v1/timeouts/${encodeURIComponent(name)}`);
              if (!serving.has(b)) continue;
              if (res.status !== 200) readErrors.push(`${b.url} ${name}: HTTP ${res.status}`);
              const v = (await res.json()) as View;
              if (v.computedAt !== null) {
                const key = `${b.url} ${name}`;
                const list = seen.get(key) ?? [];
                list.push(v.computedAt);
                seen.set(key, list);
              }
            } catch (err) {
              if (serving.has(b)) readErrors.push(`${b.url} ${name}: ${(err as Error).message}`);
            }
          }
        }
        // Callers at a modest rate: the machine runs the brokers, workers and PostgreSQL too.
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  });

  after(async () => {
    reading = false;
    await readers;
    await killAll();
    await pgServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one leader runs the cycles; every broker knows both workers and serves the same values', async () => {
    const leader = await leaderNow();
    for (const b of brokers) {
      const workers = await waitFor(async () => {
        const body = (await (await fetch(`${b.url}/v1/workers`)).json()) as {
          workers: { url: string }[];
        };
        return body.workers.length === 2 ? body.workers : undefined;
      }, 5000);
      assert.equal(workers.length, 2);
    }
    // Both workers get jobs from the leader (whichever broker they registered with).
    await waitFor(async () => {
      const v = await views(leader.url);
      return NAMES.every((n) => v.get(n)?.status === 'fresh') ? v : undefined;
    }, 15_000);
    const rows = await pgServer.query<{ name: string; computed_at_ms: number }>(
      'SELECT name, computed_at_ms FROM jit_endpoints WHERE NOT deleted',
      [],
      'brokers',
    );
    const dbAt = new Map(rows.map((r) => [r.name, r.computed_at_ms]));
    // A value the leader wrote is served by every broker (within a second; allow slack here).
    for (const b of brokers) {
      await waitFor(async () => {
        const v = await views(b.url);
        return NAMES.every(
          (n) => Date.parse(v.get(n)?.computedAt ?? '1970-01-01') >= (dbAt.get(n) ?? Infinity),
        );
      }, 3000);
    }
    const leaders = brokers.filter((b) => said(b, 'leader lease taken') > 0);
    assert.deepEqual(leaders, [leader], 'exactly one broker ever led');
    const cycles = await Promise.all(
      brokers.map(async (b) => {
        const body = (await (await fetch(`${b.url}/v1/cycles`)).json()) as { cycles: unknown[] };
        return body.cycles.length;
      }),
    );
    assert.equal(cycles.filter((c) => c > 0).length, 1, 'only the leader ran cycles');
  });

  it('an endpoint added through one broker, with a hostile name, exists verbatim on all', async () => {
    const follower = brokers.find((b) => said(b, 'leader lease taken') === 0) as JitProcess;
    const res = await fetch(`${follower.url}/v1/endpoints/${encodeURIComponent(HOSTILE)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMs: 777 }),
    });
    assert.equal(res.status, 201);
    for (const b of brokers) {
      await waitFor(async () => (await views(b.url)).get(HOSTILE), 3000);
    }
    const rows = await pgServer.query<{ name: string }>(
      'SELECT name FROM jit_endpoints WHERE name = $1',
      [HOSTILE],
      'brokers',
    );
    assert.equal(rows.length, 1);
    assert.equal((await pgServer.query('SELECT 1 FROM jit_endpoints', [], 'brokers')).length, 4);
    // Bad input changes nothing, on any broker.
    const bad = await fetch(`${follower.url}/v1/endpoints/x`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMs: -1 }),
    });
    assert.equal(bad.status, 400);
    assert.equal((await views(brokers[0]!.url)).has('x'), false);
  });

  it('kill -9 of the leader: another one runs the next cycle within two lease periods, nothing lost', async () => {
    const leader = await leaderNow();
    const before = await pgServer.query<{
      name: string;
      computed_at_ms: number;
      stored_ms: number;
    }>(
      'SELECT name, computed_at_ms, stored_ms FROM jit_endpoints WHERE NOT deleted AND stored_ms IS NOT NULL',
      [],
      'brokers',
    );
    serving.delete(leader);
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    const next = await leaderNow();
    assert.notEqual(next, leader);
    // The next leader computes again: every value moves past what the dead one wrote.
    await waitFor(async () => {
      const v = await views(next.url);
      return before.every(
        (r) => Date.parse(v.get(r.name)?.computedAt ?? '1970') > r.computed_at_ms,
      );
    }, 4 * LEASE_MS);
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs < 2 * LEASE_MS + 2000, `next cycle after ${tookMs} ms`);
    const after = await pgServer.query<{ name: string; computed_at_ms: number }>(
      'SELECT name, computed_at_ms FROM jit_endpoints WHERE NOT deleted',
      [],
      'brokers',
    );
    for (const r of before) {
      const now = after.find((a) => a.name === r.name);
      assert.ok(now && now.computed_at_ms >= r.computed_at_ms, `${r.name} went backwards`);
    }
    assert.deepEqual(readErrors, []);
  });

  it('SIGSTOP of the leader: it is replaced, and once resumed it writes nothing and stops its cycles', async () => {
    const paused = await leaderNow();
    const holder = (
      await pgServer.query<{ holder: string; token: string }>(
        'SELECT holder, token::text AS token FROM jit_leader',
        [],
        'brokers',
      )
    )[0]!;
    serving.delete(paused);
    paused.proc.kill('SIGSTOP');
    let maxId: string;
    try {
      await waitFor(async () => {
        const r = await pgServer.query<{ holder: string; token: string }>(
          'SELECT holder, token::text AS token FROM jit_leader',
          [],
          'brokers',
        );
        return r[0]?.holder !== holder.holder ? r[0] : undefined;
      }, 4 * LEASE_MS);
      // Everything the paused broker wrote is before this point.
      maxId =
        (
          await pgServer.query<{ id: string | null }>(
            'SELECT max(id)::text AS id FROM jit_history',
            [],
            'brokers',
          )
        )[0]?.id ?? '0';
      // Let the paused broker's lease run out on its own clock too, then wake it mid-cycle.
      await new Promise((r) => setTimeout(r, LEASE_MS));
    } finally {
      paused.proc.kill('SIGCONT');
    }
    await waitFor(() => said(paused, 'cycles stop here') > 0, 3 * LEASE_MS);
    await new Promise((r) => setTimeout(r, LEASE_MS));
    const late = await pgServer.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM jit_history WHERE writer = $1 AND id > $2::bigint',
      [holder.holder, maxId],
      'brokers',
    );
    assert.equal(late[0]?.n, '0', 'the paused leader wrote after losing the lease');
    const lease = (
      await pgServer.query<{ holder: string }>('SELECT holder FROM jit_leader', [], 'brokers')
    )[0];
    assert.notEqual(lease?.holder, holder.holder);
    serving.add(paused);
    await leaderNow();
    assert.deepEqual(readErrors, []);
  });

  it('a restarted broker serves the stored values and history at once', async () => {
    const fresh = await startBroker();
    const leader = await leaderNow();
    const [mine, theirs] = await Promise.all([views(fresh.url), views(leader.url)]);
    for (const n of NAMES) {
      assert.ok(mine.get(n)?.storedMs !== null && mine.get(n)?.storedMs !== undefined);
      assert.ok(Date.parse(mine.get(n)!.computedAt!) <= Date.parse(theirs.get(n)!.computedAt!));
    }
    const history = (await (
      await fetch(`${fresh.url}/v1/endpoints/${NAMES[0]}/history`)
    ).json()) as { points: { at: string }[] };
    assert.ok(history.points.length > 1);
    const ats = history.points.map((p) => Date.parse(p.at));
    assert.deepEqual(
      ats,
      [...ats].sort((a, b) => a - b),
    );
  });

  it('PostgreSQL down: every broker keeps answering from memory, one log line, cycles resume after', async () => {
    const alive = [...serving];
    const saidBefore = alive.map((b) => said(b, 'PostgreSQL is unreachable'));
    const leaderBefore = await leaderNow();
    const stoppedBefore = said(leaderBefore, 'cycles stop here');
    await pgServer.halt();
    const downAt = Date.now();
    try {
      // Within a lease the leader notices and stops its cycles; from then on nothing changes.
      await waitFor(() => said(leaderBefore, 'cycles stop here') > stoppedBefore, 2 * LEASE_MS);
      await new Promise((r) => setTimeout(r, 300));
      const before = await Promise.all(alive.map((b) => views(b.url)));
      await new Promise((r) => setTimeout(r, LEASE_MS));
      for (const [i, b] of alive.entries()) {
        const v = await views(b.url);
        for (const n of NAMES) {
          assert.equal(v.get(n)?.storedMs, before[i]!.get(n)?.storedMs);
          assert.equal(v.get(n)?.computedAt, before[i]!.get(n)?.computedAt);
        }
      }
    } finally {
      await pgServer.resume();
    }
    const leader = await leaderNow();
    await waitFor(async () => {
      const v = await views(leader.url);
      return NAMES.every((n) => Date.parse(v.get(n)?.computedAt ?? '1970') > downAt);
    }, 6 * LEASE_MS);
    for (const [i, b] of alive.entries()) {
      assert.equal(
        said(b, 'PostgreSQL is unreachable') - saidBefore[i]!,
        1,
        `${b.url} said it once`,
      );
      await waitFor(() => said(b, 'PostgreSQL is reachable again') >= 1, 3000);
    }
    assert.deepEqual(readErrors, []);
    // No broker ever served an older computation after a newer one.
    for (const [key, list] of seen) {
      const ms = list.map((s) => Date.parse(s));
      for (let i = 1; i < ms.length; i++) {
        assert.ok(ms[i]! >= ms[i - 1]!, `${key} went back from ${list[i - 1]} to ${list[i]}`);
      }
    }
  });
});

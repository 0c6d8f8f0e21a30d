// Test harness: a real, throw-away PostgreSQL cluster (initdb + pg_ctl) on a free loopback port.
//
// Missing PostgreSQL binaries: tests SKIP with a loud warning on a developer machine, but FAIL
// when CI=true (the CI image installs the Debian package).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { freePort } from './influxd.ts';

export interface Postgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth). */
  readonly url: string;
  readonly port: number;
  /** The URL of database `db` on this cluster. */
  urlOf(db: string): string;
  /** CREATE DATABASE (name must be a plain identifier); answers its URL. */
  createDatabase(db: string): Promise<string>;
  /** Runs one statement on database `db` (default postgres) and answers the rows. */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[], db?: string): Promise<R[]>;
  /** `pg_ctl stop -m immediate`: the server dies as in a crash (connections cut). */
  halt(): Promise<void>;
  /** Starts the cluster again on the same port and data. */
  resume(): Promise<void>;
  /** Stops the server and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The directory holding initdb and pg_ctl: $JIT_PG_BINDIR when set, else the first PATH entry
 * with both, else the newest /usr/lib/postgresql/<version>/bin (Debian keeps them there).
 */
export function pgBinDir(): string | undefined {
  const both = (dir: string) =>
    isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'pg_ctl'));
  const override = process.env.JIT_PG_BINDIR;
  if (override !== undefined && override !== '') return both(override) ? override : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && both(dir)) return dir;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (both(join(root, v, 'bin'))) return join(root, v, 'bin');
  return undefined;
}

const MISSING =
  'PostgreSQL server binaries not found (looked for $JIT_PG_BINDIR, initdb and pg_ctl on PATH, ' +
  '/usr/lib/postgresql/*/bin); install them, e.g. `apt-get install -y postgresql`';

/** For `describe(name, { skip: postgresSkip() }, …)`: a loud skip, never in CI. */
export function postgresSkip(): string | false {
  if (pgBinDir() !== undefined || process.env.CI === 'true') return false;
  const reason = `SKIPPED: ${MISSING}`;
  console.warn(reason);
  return reason;
}

/** initdb refuses to run as root: then the cluster belongs to the `postgres` user. */
function runAs(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error('running as root, and there is no user "postgres" to run initdb and pg_ctl as');
  }
  return 'postgres';
}

function run(user: string | undefined, bin: string, args: string[]): string {
  const [cmd, argv] = user ? ['runuser', ['-u', user, '--', bin, ...args]] : [bin, args];
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `${bin} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      { cause: err },
    );
  }
}

const live = new Set<() => void>();
process.once('exit', () => {
  for (const stop of live) stop();
});

/** Creates and starts a cluster in a fresh temp dir (fsync off: tests do not survive power cuts). */
export async function startPostgres(): Promise<Postgres> {
  const bin = pgBinDir();
  if (bin === undefined) throw new Error(MISSING);
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'jit-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  if (user) {
    chmodSync(dir, 0o755);
    execFileSync('chown', ['-R', user, dir]);
  }
  run(user, 'mkdir', ['-p', sock]);
  run(user, join(bin, 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
    '--no-instructions',
  ]);
  const port = await freePort();
  const pgCtl = join(bin, 'pg_ctl');
  const start = () =>
    run(user, pgCtl, [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-c listen_addresses=127.0.0.1 -c port=${port} -k ${sock} -c fsync=off -c max_connections=300`,
      'start',
    ]);
  const halt = () => {
    spawnSync(
      user ? 'runuser' : pgCtl,
      user
        ? ['-u', user, '--', pgCtl, '-D', data, '-m', 'immediate', 'stop']
        : ['-D', data, '-m', 'immediate', 'stop'],
      { stdio: 'ignore' },
    );
  };
  start();
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    halt();
    rmSync(dir, { recursive: true, force: true });
  };
  live.add(stopSync);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const urlOf = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  const query = async <R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
    db = 'postgres',
  ) => {
    const client = new pg.Client({ connectionString: urlOf(db) });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    url,
    port,
    urlOf,
    query,
    async createDatabase(db) {
      if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`not a plain identifier: ${db}`);
      await query(`CREATE DATABASE ${db}`);
      return urlOf(db);
    },
    halt: () => Promise.resolve(halt()),
    resume: () => Promise.resolve(void start()),
    stop() {
      stopSync();
      live.delete(stopSync);
      return Promise.resolve();
    },
  };
}

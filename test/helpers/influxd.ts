// Test harness: a real InfluxDB 1.x (`influxd`) on loopback, free ports and a fresh temp dir.
//
// Missing influxd: tests SKIP with a loud warning on a developer machine, but FAIL when
// CI=true (the CI image installs the Debian package; a silent skip there would hide the gap).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface Influxd {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** The process id of the running influxd. */
  readonly pid: number;
  /** Temporary directory holding the config, meta, data and wal dirs (removed on stop). */
  readonly dir: string;
  /** Writes line-protocol lines (`POST /write?db=…&precision=ns`); rejects unless 204. */
  writeLines(db: string, lines: string[]): Promise<void>;
  /** `CREATE DATABASE "db"` (idempotent). */
  createDatabase(db: string): Promise<void>;
  /** Runs one InfluxQL statement and answers the parsed JSON (errors are not thrown). */
  query(q: string, db?: string): Promise<InfluxQueryResponse>;
  /** Stops influxd (SIGTERM, then SIGKILL after a grace period) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface InfluxQueryResponse {
  error?: string;
  results?: {
    statement_id?: number;
    error?: string;
    series?: {
      name: string;
      columns: string[];
      values: unknown[][];
      tags?: Record<string, string>;
    }[];
  }[];
}

export const INFLUXD_DEFAULT_PATH = '/usr/bin/influxd';
const STARTUP_DEADLINE_MS = 20_000;
const STOP_GRACE_MS = 3_000;
const MAX_LOG_CHARS = 16_000;

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Path of a server binary the tests start: $`envName` when set (and nothing else, so a wrong
 * value reads as "missing"), else `defaultPath`, else the first `name` on PATH; undefined if none.
 */
export function serverBinaryPath(
  envName: string,
  defaultPath: string,
  name: string,
): string | undefined {
  const override = process.env[envName];
  if (override !== undefined && override !== '') {
    return isExecutable(override) ? override : undefined;
  }
  if (isExecutable(defaultPath)) return defaultPath;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Path of the influxd binary: $JIT_INFLUXD_PATH, /usr/bin/influxd or PATH (serverBinaryPath). */
export function influxdPath(): string | undefined {
  return serverBinaryPath('JIT_INFLUXD_PATH', INFLUXD_DEFAULT_PATH, 'influxd');
}

export function influxdAvailable(): boolean {
  return influxdPath() !== undefined;
}

const MISSING_MESSAGE =
  `influxd not installed (looked for $JIT_INFLUXD_PATH, ${INFLUXD_DEFAULT_PATH} and influxd on ` +
  'PATH); install InfluxDB 1.x, e.g. `apt-get install -y influxdb`';

function isCi(): boolean {
  return process.env.CI === 'true';
}

/**
 * For `describe(name, { skip: influxdSkip() }, …)`: `false` when influxd is installed or when
 * running in CI (so the suite runs and fails loudly in startInfluxd), otherwise a skip reason,
 * announced on stderr.
 */
export function influxdSkip(): string | false {
  if (influxdAvailable() || isCi()) return false;
  const reason = `SKIPPED: ${MISSING_MESSAGE}`;
  console.warn(reason);
  return reason;
}

/**
 * Inside a test: answers true when influxd can be used. When it is missing, CI=true makes
 * this throw (the test fails); elsewhere the test is skipped with a loud warning and false
 * is answered, so the caller returns early.
 */
export function requireInfluxd(t: { skip(message?: string): void }): boolean {
  if (influxdAvailable()) return true;
  if (isCi()) throw new Error(`CI=true and ${MISSING_MESSAGE}`);
  const reason = `SKIPPED: ${MISSING_MESSAGE}`;
  console.warn(reason);
  t.skip(reason);
  return false;
}

/** A TCP port that was free a moment ago on 127.0.0.1 (listen on :0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Escapes a line-protocol tag key or tag value: commas, spaces and equals signs. */
export function escapeTag(value: string): string {
  return value.replace(/[, =]/g, '\\$&');
}

/** Escapes a line-protocol measurement name: commas and spaces. */
export function escapeMeasurement(value: string): string {
  return value.replace(/[, ]/g, '\\$&');
}

/** One span line: `span,http.url=<tag> duration=<ns>i <ts ns>`. */
export function spanLine(url: string, durationNs: bigint | number, timestampNs: bigint): string {
  const d = typeof durationNs === 'bigint' ? durationNs : BigInt(Math.round(durationNs));
  return `span,http.url=${escapeTag(url)} duration=${d}i ${timestampNs}`;
}

/** Now in nanoseconds since the epoch, as a bigint (ns timestamps exceed 2^53). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

function configToml(dir: string, httpPort: number, rpcPort: number): string {
  const q = (s: string) => JSON.stringify(s); // TOML basic strings accept JSON string escapes
  return [
    '# Generated by test/helpers/influxd.ts: loopback only, everything optional switched off.',
    // Upstream's key is reporting-disabled; the Debian build renamed it to reporting-enabled.
    // Unknown keys are ignored, so both are set.
    'reporting-disabled = true',
    'reporting-enabled = false',
    `bind-address = ${q(`127.0.0.1:${rpcPort}`)}`,
    '',
    '[meta]',
    `  dir = ${q(join(dir, 'meta'))}`,
    '  logging-enabled = false',
    '',
    '[data]',
    `  dir = ${q(join(dir, 'data'))}`,
    `  wal-dir = ${q(join(dir, 'wal'))}`,
    '  query-log-enabled = false',
    '  wal-fsync-delay = "0s"',
    '',
    '[monitor]',
    '  store-enabled = false',
    '',
    '[continuous_queries]',
    '  enabled = false',
    '',
    '[retention]',
    '  enabled = false',
    '',
    '[http]',
    '  enabled = true',
    `  bind-address = ${q(`127.0.0.1:${httpPort}`)}`,
    '  auth-enabled = false',
    '  log-enabled = false',
    '  pprof-enabled = false',
    '  unix-socket-enabled = false',
    '',
    '[ifql]',
    '  enabled = false',
    '',
    '[logging]',
    '  level = "warn"',
    '  suppress-logo = true',
    '',
    // udp, graphite, collectd and opentsdb listeners are off by default; stated for clarity.
    '[[udp]]',
    '  enabled = false',
    '[[graphite]]',
    '  enabled = false',
    '[[collectd]]',
    '  enabled = false',
    '[[opentsdb]]',
    '  enabled = false',
    '',
  ].join('\n');
}

/** The environment for influxd: ours minus INFLUXDB_* overrides, which would beat the config file. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('INFLUXDB_')) env[k] = v;
  }
  return env;
}

// Safety net: if the test process exits without stop(), do not leave influxd behind.
const live = new Set<{ child: ChildProcess; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const { child, dir } of live) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, STOP_GRACE_MS)) return;
  child.kill('SIGKILL');
  await waitForExit(child, STOP_GRACE_MS);
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly portClash: boolean,
  ) {
    super(message);
  }
}

/** Starts a fresh influxd; resolves once `GET /ping` answers 204. */
export async function startInfluxd(): Promise<Influxd> {
  // A port found free can be taken before influxd binds it; retry such clashes a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      if (err instanceof StartupError && err.portClash && attempt < 3) continue;
      throw err;
    }
  }
}

async function startOnce(): Promise<Influxd> {
  const bin = influxdPath();
  if (!bin) throw new Error(MISSING_MESSAGE);
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'jit-influxd-'));
  const httpPort = await freePort();
  let rpcPort = await freePort();
  while (rpcPort === httpPort) rpcPort = await freePort();
  const configPath = join(dir, 'influxdb.conf');
  await writeFile(configPath, configToml(dir, httpPort, rpcPort));

  const url = `http://127.0.0.1:${httpPort}`;
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > MAX_LOG_CHARS) log = log.slice(-MAX_LOG_CHARS);
  };
  const child = spawn(bin, ['run', '-config', configPath], {
    cwd: dir,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const entry = { child, dir };
  live.add(entry);

  const cleanup = async () => {
    live.delete(entry);
    await kill(child);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + STARTUP_DEADLINE_MS;
    for (;;) {
      if (spawnError) throw new Error(`cannot start ${bin}: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new StartupError(
          `influxd exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`,
          /address already in use/i.test(log),
        );
      }
      try {
        const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.status === 204) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(
          `influxd did not answer GET /ping with 204 within ${STARTUP_DEADLINE_MS} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await cleanup();
    const message = `${(err as Error).message}\n--- influxd output (${configPath}) ---\n${log || '(none)'}`;
    if (err instanceof StartupError) throw new StartupError(message, err.portClash);
    throw new Error(message, { cause: err });
  }

  async function query(q: string, db?: string): Promise<InfluxQueryResponse> {
    const params = new URLSearchParams({ q });
    if (db !== undefined) params.set('db', db);
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
      signal: AbortSignal.timeout(10_000),
    });
    return (await res.json()) as InfluxQueryResponse;
  }

  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: child.pid ?? -1,
    dir,
    query,
    async createDatabase(db: string): Promise<void> {
      const name = `"${db.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
      const body = await query(`CREATE DATABASE ${name}`);
      const error = body.error ?? body.results?.find((r) => r.error)?.error;
      if (error) throw new Error(`CREATE DATABASE ${name} failed: ${error}`);
    },
    async writeLines(db: string, lines: string[]): Promise<void> {
      const res = await fetch(
        `${url}/write?${new URLSearchParams({ db, precision: 'ns' }).toString()}`,
        {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: lines.join('\n'),
          signal: AbortSignal.timeout(10_000),
        },
      );
      const text = await res.text();
      if (res.status !== 204) {
        throw new Error(
          `influxd write to ${db} answered HTTP ${res.status}: ${text.slice(0, 500)}`,
        );
      }
    },
    stop(): Promise<void> {
      stopping ??= cleanup();
      return stopping;
    },
  };
}

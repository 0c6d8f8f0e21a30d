// Real `jit` processes for integration tests: spawn, wait for the listening line, collect logs, kill.
// Every process started here is tracked; call killAll() from `after` so none outlives the test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/processes.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const JIT_BIN = fileURLToPath(new URL('../../bin/jit.js', import.meta.url));

/** How long a process may take to print its "listening on" line. */
const LISTEN_DEADLINE_MS = 20_000;
/** How long kill() waits for an exit before escalating to SIGKILL. */
const KILL_GRACE_MS = 10_000;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface JitProcess {
  proc: ChildProcess;
  /** The URL from the "listening on http://..." log line. */
  url: string;
  /** stdout and stderr so far, stdout first. */
  logs(): string;
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited. */
  exited: Promise<ExitInfo>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after a grace period. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface RunResult extends ExitInfo {
  stdout: string;
  stderr: string;
}

const live = new Set<ChildProcess>();

// Last line of defence: a test runner that exits without reaching `after` takes the children along.
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** The parent's environment without the variables `jit` reads, so the tests see only `env`. */
function childEnv(env: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('JIT_') || k === 'BROKER_IP' || k === 'INFLUX_IP') continue;
    if (k === 'NODE_TEST_CONTEXT') continue; // set by `node --test` for its own children
    base[k] = v;
  }
  // Brokers keep their store in memory unless a test asks for a file (--store or JIT_STORE):
  // the CLI's default file under the working directory would be shared by every test broker.
  // Nor do they bind the OTLP receiver's 4318 unless a test asks for it (--otlp-port or
  // JIT_OTLP_PORT): brokers of tests running at once (and anything else on the machine) would
  // fight over it.
  return { ...base, JIT_STORE: ':memory:', JIT_OTLP_PORT: '0', ...env };
}

function start(args: string[], env: Record<string, string> | undefined) {
  const proc = spawn(process.execPath, [JIT_BIN, ...args], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<ExitInfo>((resolve) => {
    // 'close' fires after the exit and once stdio is drained, so the logs are complete.
    proc.once('close', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
    proc.once('error', () => {
      live.delete(proc);
      resolve({ code: null, signal: null });
    });
  });
  return { proc, exited, stdout: () => out, stderr: () => err };
}

async function stop(
  proc: ChildProcess,
  exited: Promise<ExitInfo>,
  signal: NodeJS.Signals,
): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    await exited;
    return;
  }
  proc.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>(
    (r) => (timer = setTimeout(() => r('timeout'), KILL_GRACE_MS)),
  );
  const first = await Promise.race([exited, gaveUp]);
  clearTimeout(timer);
  if (first === 'timeout') {
    proc.kill('SIGKILL');
    await exited;
  }
}

/** The URL of the first log line whose message says "listening on http://...". */
function listeningUrl(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    let msg = line;
    try {
      const parsed = JSON.parse(line) as { msg?: unknown };
      if (typeof parsed.msg === 'string') msg = parsed.msg;
    } catch {
      // not a pino line: match the raw text
    }
    const m = /listening on (http:\/\/[^\s)]+)/.exec(msg);
    if (m?.[1]) return m[1];
  }
  return undefined;
}

/**
 * Spawns `node bin/jit.js ...args` from the repository root and resolves once it logged the
 * address it listens on. Rejects (after killing it) if it exits first or takes longer than 20 s.
 */
export async function spawnJit(
  args: string[],
  opts: { env?: Record<string, string>; listenDeadlineMs?: number } = {},
): Promise<JitProcess> {
  const listenDeadlineMs = opts.listenDeadlineMs ?? LISTEN_DEADLINE_MS;
  const { proc, exited, stdout, stderr } = start(args, opts.env);
  const logs = () => stdout() + stderr();
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const u = listeningUrl(stdout());
      if (u) finish(() => resolve(u));
    };
    const deadline = setTimeout(
      () =>
        finish(() => {
          proc.kill('SIGKILL');
          reject(
            new Error(
              `jit ${args.join(' ')}: no "listening on" line within ${listenDeadlineMs} ms\n${logs()}`,
            ),
          );
        }),
      listenDeadlineMs,
    );
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(() =>
        reject(
          new Error(
            `jit ${args.join(' ')} exited (code ${code}, signal ${signal}) before listening\n${logs()}`,
          ),
        ),
      );
    function finish(then: () => void) {
      clearTimeout(deadline);
      proc.stdout?.off('data', check);
      proc.off('exit', onExit);
      then();
    }
    proc.stdout?.on('data', check);
    proc.once('exit', onExit);
    check();
  });
  return {
    proc,
    url,
    logs,
    stdout,
    stderr,
    exited,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => stop(proc, exited, signal),
  };
}

/** Runs `node bin/jit.js ...args` to completion (e.g. --help, bad options); SIGKILL after `timeoutMs`. */
export async function runJit(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const { proc, exited, stdout, stderr } = start(args, opts.env);
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const exit = await exited;
  clearTimeout(timer);
  return { ...exit, stdout: stdout(), stderr: stderr() };
}

/** Kills every process started by this module that is still running (SIGKILL) and waits for them. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...live].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}

/** The pino JSON lines of a process's stdout (other lines skipped). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial line still being written
    }
  }
  return out;
}

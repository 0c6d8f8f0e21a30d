// Shared by the benchmarks: start node processes that print "listening on URL", stop them all.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const children: ChildProcess[] = [];

/**
 * Whether processes can be pinned to cores: `taskset` (util-linux) is there and the machine has
 * at least two cores (servers on core 0, the load generator on core 1).
 */
export function canPin(): boolean {
  if (cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Moves this process (all its threads) to one core. */
export function pinSelf(cpu: number): void {
  execFileSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** CPU time (user + system, s) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** Resident and peak resident memory of a process (MiB), from /proc. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/**
 * Runs `node …argv` from the repository root, on core `cpu` if given (through taskset);
 * resolves once it prints "listening on URL".
 */
export function startListening(
  argv: string[],
  opts: { cpu?: number } = {},
): Promise<{ url: string; pid: number }> {
  return new Promise((resolve, reject) => {
    // BENCH_CPU_PROF=DIR: every process writes a V8 CPU profile there when it exits.
    const prof = process.env.BENCH_CPU_PROF;
    const nodeArgv = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, ...argv] : argv;
    const [cmd, args] =
      opts.cpu === undefined
        ? [process.execPath, nodeArgv]
        : ['taskset', ['-c', String(opts.cpu), process.execPath, ...nodeArgv]];
    const p = spawn(cmd, args, {
      cwd: ROOT,
      // Brokers keep their store in memory unless told otherwise (no stray files, no shared lock).
      env: { JIT_STORE: ':memory:', ...process.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(p);
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve({ url: m[1] as string, pid: p.pid as number });
      // Keep only the tail: a busy broker's log must not grow without bound here.
      if (out.length > 100_000) out = out.slice(-1000);
    });
    p.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`)));
  });
}

/** `jit …argv`; resolves with the URL it listens on. */
export async function startJit(argv: string[]): Promise<string> {
  return (await startListening([join(ROOT, 'bin/jit.js'), ...argv])).url;
}

/** Stops every process started here. */
export function stopAll(): void {
  for (const c of children) c.kill('SIGTERM');
}

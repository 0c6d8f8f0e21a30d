// Shared by the benchmarks: start node processes that print "listening on URL", stop them all.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const children: ChildProcess[] = [];

/** Runs `node …argv` from the repository root; resolves once it prints "listening on URL". */
export function startListening(argv: string[]): Promise<{ url: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, argv, {
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

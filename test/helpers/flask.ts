// Python/Flask stand-ins of the original system (test/fixtures/legacy/*.py) as real processes.
//
// Missing Flask (Debian python3-flask): tests SKIP with a loud warning on a developer machine,
// but FAIL when CI=true (the CI image installs the package; a silent skip there hides the gap).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter, which has Debian's flask; $JIT_PYTHON overrides it. */
export const PYTHON = process.env.JIT_PYTHON ?? '/usr/bin/python3';
const FIXTURES = fileURLToPath(new URL('../fixtures/legacy/', import.meta.url));
const STOP_GRACE_MS = 3000;

let available: boolean | undefined;

/** Whether `PYTHON` can import flask (checked once). */
export function flaskAvailable(): boolean {
  available ??=
    spawnSync(PYTHON, ['-c', 'import flask'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
  return available;
}

const MISSING = `${PYTHON} cannot import flask; install it, e.g. \`apt-get install -y python3-flask\``;

/**
 * For `describe(name, { skip: flaskSkip() }, …)`: false when Flask is there or when running in
 * CI (the suite then runs and fails loudly in startStandIn), otherwise a loud skip reason.
 */
export function flaskSkip(): string | false {
  if (flaskAvailable() || process.env.CI === 'true') return false;
  const reason = `SKIPPED: ${MISSING}`;
  console.warn(`\n!!! ${reason} !!!\n`);
  return reason;
}

export interface StandIn {
  proc: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Starts `test/fixtures/legacy/<script>` with `args`; throws when Flask is missing. */
export function startStandIn(script: string, args: string[]): StandIn {
  if (!flaskAvailable()) throw new Error(`CI=true and ${MISSING}`);
  const proc = spawn(PYTHON, ['-u', `${FIXTURES}${script}`, ...args], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<void>((resolve) =>
    proc.once('close', () => {
      live.delete(proc);
      resolve();
    }),
  );
  return {
    proc,
    logs: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

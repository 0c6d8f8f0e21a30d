// Stopping real `jit` processes: SIGTERM exits 0 and cleans up, a hung close is cut off, a second
// signal exits at once, a demo on a taken port says how to choose another, and under npm (whose
// shell does not pass signals on) the process exits with its parent.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/processes.ts';

/** Longest any process here may live. */
const EXIT_DEADLINE_MS = 60_000;
const FIXTURE = join(REPO_ROOT, 'test/helpers/close-on-signals-fixture.ts');
const root = mkdtempSync(join(tmpdir(), 'jit-shutdown-'));
const children = new Set<ChildProcess>();
/** Grandchildren (started through `sh -c`) by pid: killed in `after` if a test left them. */
const orphans = new Set<number>();

after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const pid of orphans) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The environment without anything that changes how `jit` runs: no JIT_ variables and no npm_
 * ones (`npm test` sets npm_lifecycle_event, which turns on the exit-with-parent watch).
 */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('JIT_') || k.startsWith('npm_') || k === 'NODE_TEST_CONTEXT') continue;
    base[k] = v;
  }
  // No OTLP receiver on 4318 (the CLI's default) unless asked: test brokers would share the port.
  return { ...base, JIT_STORE: ':memory:', JIT_OTLP_PORT: '0', ...extra };
}

interface Proc {
  proc: ChildProcess;
  output(): string;
  /** Resolves with the first match of `re` in stdout+stderr; rejects after `ms` or on exit. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
}

function run(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Proc {
  const proc = spawn(cmd, args, {
    cwd: REPO_ROOT,
    env: env(extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
  let signalledAt = 0;
  const kill = proc.kill.bind(proc);
  proc.kill = (signal?: NodeJS.Signals | number) => {
    signalledAt ||= Date.now();
    return kill(signal);
  };
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    afterMs: number;
  }>((resolve) => {
    // A process that does not stop is killed after EXIT_DEADLINE_MS: the test then fails on
    // its exit code instead of hanging.
    const deadline = setTimeout(() => kill('SIGKILL'), EXIT_DEADLINE_MS);
    proc.once('close', (code, signal) => {
      clearTimeout(deadline);
      children.delete(proc);
      resolve({ code, signal, afterMs: signalledAt ? Date.now() - signalledAt : 0 });
    });
  });
  const waitFor = (re: RegExp, ms = 30_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) {
          clearInterval(timer);
          resolve(m);
        } else if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
          clearInterval(timer);
          reject(new Error(`no ${String(re)} in the output:\n${out}`));
        }
      };
      const deadline = Date.now() + ms;
      const timer = setInterval(check, 25);
      check();
    });
  return { proc, output: () => out, waitFor, exited };
}

const jit = (args: string[], extraEnv: Record<string, string> = {}) =>
  run(process.execPath, ['bin/jit.js', ...args], extraEnv);

/** A fresh TMPDIR for one process, to see what it leaves behind. */
const freshTmp = () => mkdtempSync(join(root, 'tmp-'));
/** What the process left in its TMPDIR, leaving out tsx's compile cache. */
const leftIn = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('tsx-'));

async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('stopping jit', () => {
  it('demo: SIGTERM exits 0 within a few seconds and removes its temporary folder', async () => {
    const tmp = freshTmp();
    const demo = jit(['demo', '--port', '0'], { TMPDIR: tmp });
    const [, file] = await demo.waitFor(/endpoints \((\/[^)]+\/endpoints\.config)\)/);
    await demo.waitFor(/Press Ctrl-C to stop/);
    assert.ok(file && existsSync(file), 'the demo wrote its endpoint list');
    assert.deepEqual(leftIn(tmp).length, 1, 'one jit-demo- folder while running');
    demo.proc.kill('SIGTERM');
    const exit = await demo.exited;
    assert.equal(exit.code, 0, demo.output());
    assert.ok(exit.afterMs < 5000, `exited ${exit.afterMs} ms after SIGTERM`);
    assert.deepEqual(leftIn(tmp), [], 'temporary folder removed');
  });

  it('demo: a port in use is named, with the flag to choose another; exit 2, nothing left', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as AddressInfo;
    try {
      const tmp = freshTmp();
      const demo = jit(['demo', '--port', String(port)], { TMPDIR: tmp });
      const exit = await demo.exited;
      assert.equal(exit.code, 2, demo.output());
      assert.match(
        demo.output(),
        new RegExp(`port ${port} is in use; choose another with --port \\(or JIT_DEMO_PORT\\)`),
      );
      assert.doesNotMatch(demo.output(), /\n\s+at /, 'no stack trace');
      assert.deepEqual(leftIn(tmp), [], 'temporary folder removed after the failed start');
    } finally {
      blocker.close();
    }
  });

  it('broker: SIGTERM exits 0 within a few seconds', async () => {
    const broker = jit(['broker', '--port', '0']);
    await broker.waitFor(/listening on http/);
    broker.proc.kill('SIGTERM');
    const exit = await broker.exited;
    assert.equal(exit.code, 0, broker.output());
    assert.ok(exit.afterMs < 5000, `exited ${exit.afterMs} ms after SIGTERM`);
  });

  it('a close that hangs is cut off after forceAfterMs, exit 1', async () => {
    const p = run(process.execPath, ['--import', 'tsx', FIXTURE], {
      FIXTURE_CLOSE: 'hang',
      FIXTURE_FORCE_MS: '700',
    });
    await p.waitFor(/ready/);
    p.proc.kill('SIGTERM');
    const exit = await p.exited;
    assert.equal(exit.code, 1, p.output());
    assert.ok(exit.afterMs >= 600 && exit.afterMs < 4000, `exited after ${exit.afterMs} ms`);
    assert.match(p.output(), /did not finish within 700 ms/);
  });

  it('a second signal exits at once, with 128 + the signal number', async () => {
    const p = run(process.execPath, ['--import', 'tsx', FIXTURE], {
      FIXTURE_CLOSE: 'hang',
      FIXTURE_FORCE_MS: '60000',
    });
    await p.waitFor(/ready/);
    p.proc.kill('SIGINT');
    await p.waitFor(/received SIGINT; shutting down/);
    p.proc.kill('SIGTERM');
    const exit = await p.exited;
    assert.equal(exit.code, 143, p.output());
    assert.ok(exit.afterMs < 4000, `exited after ${exit.afterMs} ms`);
    assert.match(p.output(), /received SIGTERM again; exiting now/);
  });

  // `npx jit broker` runs `sh -c 'jit' broker …` under npm: a SIGTERM to npm reaches the shell,
  // which dies without passing it on. A shell that must stay (a command after ours) stands in.
  const underShell = (extraEnv: Record<string, string>) =>
    run(
      '/bin/sh',
      ['-c', `"${process.execPath}" bin/jit.js broker --port 0; echo after`],
      extraEnv,
    );

  /** The shell's own exit ('close' waits for jit too: it holds the same stdout). */
  const shellGone = (sh: Proc) =>
    new Promise<void>((resolve) => {
      if (sh.proc.exitCode !== null || sh.proc.signalCode !== null) resolve();
      else sh.proc.once('exit', () => resolve());
    });

  it('started by npm: exits cleanly once the shell npm ran it in is killed', async () => {
    const sh = underShell({ npm_lifecycle_event: 'npx', npm_command: 'exec' });
    const [, pid] = await sh.waitFor(/"pid":(\d+).*listening on/);
    const jitPid = Number(pid);
    orphans.add(jitPid);
    const [url] = await sh.waitFor(/http:\/\/127\.0\.0\.1:\d+/);
    sh.proc.kill('SIGTERM');
    await shellGone(sh);
    assert.ok(alive(jitPid), 'jit outlived the shell for a moment (it is not in its group)');
    assert.ok(await waitUntil(() => !alive(jitPid), 6000), 'jit exited within 6 s of its parent');
    await assert.rejects(fetch(`${url}/healthz`), 'nothing listens any more');
  });

  it('not started by npm: outlives its parent shell (as `nohup jit broker &` needs)', async () => {
    const sh = underShell({});
    const [, pid] = await sh.waitFor(/"pid":(\d+).*listening on/);
    const jitPid = Number(pid);
    orphans.add(jitPid);
    sh.proc.kill('SIGTERM');
    await shellGone(sh);
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(alive(jitPid), 'jit kept running after its shell exited');
    process.kill(jitPid, 'SIGTERM');
    assert.ok(await waitUntil(() => !alive(jitPid), 6000), 'and stops on its own SIGTERM');
  });
});

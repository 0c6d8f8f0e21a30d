// Process helpers shared by the broker and worker: the URL a server listens on, graceful shutdown.
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { FastifyInstance } from 'fastify';

/** http://host:port of a listening app; a wildcard host is advertised as loopback. */
export function localUrl(app: FastifyInstance, host: string): string {
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export interface CloseOnSignalsOptions {
  /**
   * If `close()` has not finished this long after the first signal, the process exits anyway,
   * with code 1: a hung close (a request that never ends, a stuck worker call) must not keep a
   * process that was asked to stop. Default 10000 (ms).
   */
  forceAfterMs?: number;
  /**
   * Also shut down, as on SIGTERM, when the process that started us exits. Default: true when
   * npm started us (`npx jit …`, `npm start`: `npm_lifecycle_event` is set), else false. npm
   * runs a bin through `sh -c`; a SIGTERM sent to npm reaches that shell, which dies without
   * passing it on, and we were left running with nobody waiting for us. Off otherwise, so that
   * `nohup jit broker &` keeps running after its shell exits.
   */
  exitWithParent?: boolean;
  /** How often the parent is checked when `exitWithParent` is on. Default 1000 (ms). */
  parentCheckMs?: number;
}

/** Exit code of a process stopped by a second signal: 128 + the signal's number, as shells do. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

/**
 * The current parent pid, read fresh: Node's `process.ppid` is fixed at start-up. On Linux from
 * /proc (it changes as soon as the parent exits, even before the parent is reaped); elsewhere
 * `undefined` once `original` no longer exists.
 */
function currentParent(original: number): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) return ppid;
  } catch {
    // no /proc: fall through to a liveness check
  }
  try {
    process.kill(original, 0);
    return original;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? original : undefined;
  }
}

/**
 * Runs until SIGTERM/SIGINT (or, see `exitWithParent`, until the parent exits), then calls
 * `close()` and exits 0 (1 if it failed). A second signal exits at once (128 + signal number);
 * a close that takes longer than `forceAfterMs` exits 1.
 */
export function closeOnSignals(
  close: () => Promise<void>,
  log: { info(msg: string): void },
  options: CloseOnSignalsOptions = {},
): void {
  const forceAfterMs = options.forceAfterMs ?? 10_000;
  const exitWithParent = options.exitWithParent ?? process.env.npm_lifecycle_event !== undefined;
  let closing = false;
  let parentTimer: NodeJS.Timeout | undefined;
  const shutdown = (why: string) => {
    closing = true;
    clearInterval(parentTimer);
    log.info(`${why}; shutting down`);
    // Not unref'd: the process must end even if close() leaves nothing else running.
    setTimeout(() => {
      log.info(`shutdown did not finish within ${forceAfterMs} ms; exiting anyway`);
      process.exit(1);
    }, forceAfterMs);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.info(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!closing) return shutdown(`received ${signal}`);
    // A second Ctrl-C (or kill) means "now": the person has seen the first one did not suffice.
    log.info(`received ${signal} again; exiting now`);
    process.exit(signalExitCode(signal));
  };
  // `on`, not `once`: after the first signal, the default action would kill us without the
  // process's exit handlers (the demo removes its temporary folder in one).
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (exitWithParent) {
    const original = process.ppid;
    parentTimer = setInterval(() => {
      const now = currentParent(original);
      if (now !== original && !closing) {
        shutdown(`parent process ${original} exited (npm does not pass signals on)`);
      }
    }, options.parentCheckMs ?? 1000);
    parentTimer.unref(); // a check, not a reason to stay alive
  }
}

/**
 * Closes a Fastify app without waiting out keep-alive: a request in flight when close() starts
 * leaves its socket open after the reply, and Node closes idle sockets only once, when closing
 * begins; so we close idle sockets again every 50 ms until the close completes.
 */
export async function closeApp(app: FastifyInstance): Promise<void> {
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

// The `jit` command line: broker, worker, demo, backtest and export subcommands, built without loading what they run.
import { Command } from 'commander';
import { JitError } from '../core/errors.ts';
import { backtestCommand } from './backtest-command.ts';
import { brokerCommand } from './broker-command.ts';
import { exportCommand } from './export-command.ts';
import { sourceCommand } from './source-command.ts';
import { workerCommand } from './worker-command.ts';

/**
 * `jit demo`'s module imports the broker and the worker (Fastify, SQLite, pino…) at its top, so
 * it is loaded only when `demo` is the command run or asked about; otherwise a stand-in with
 * its name and description is enough for `jit --help`. (The other command modules load what
 * they run inside their actions, so they are imported directly.)
 */
const DEMO_DESCRIPTION =
  'run a broker and two workers in one process, no InfluxDB needed (see jit demo --help)';

/** Whether `argv` (as process.argv) runs or asks about the subcommand `name`. */
function selects(argv: readonly string[], name: string): boolean {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  return words[0] === name || (words[0] === 'help' && words[1] === name);
}

/** The program; `demo` is the real demo command or (by default) its stand-in. */
export function buildCli(
  demo: Command = new Command('demo').description(DEMO_DESCRIPTION),
): Command {
  return new Command('jit')
    .description('JustInTimeout: per-endpoint timeouts computed from real latency')
    .version('0.1.0')
    .showHelpAfterError()
    .addCommand(brokerCommand())
    .addCommand(workerCommand())
    .addCommand(sourceCommand())
    .addCommand(demo)
    .addCommand(backtestCommand())
    .addCommand(exportCommand());
}

export async function main(argv: string[]): Promise<void> {
  try {
    const demo = selects(argv, 'demo')
      ? (await import('./demo-command.ts')).demoCommand()
      : undefined;
    await buildCli(demo).parseAsync(argv);
  } catch (err) {
    if (err instanceof JitError) {
      // Bad configuration or input: the message names the problem; a stack trace would not help.
      process.stderr.write(`jit: ${err.message}\n`);
      process.exit(2);
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
      process.stderr.write(`jit: cannot read ${e.path ?? 'a file'}: ${e.code}\n`);
      process.exit(2);
    }
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      // What to do about it, in the same line: a taken port is the usual first-run trap.
      const hint =
        e.code === 'EADDRINUSE'
          ? '; choose another with --port (or its JIT_ variable, see --help)'
          : e.code === 'EADDRNOTAVAIL'
            ? '; check --host'
            : '';
      process.stderr.write(`jit: cannot listen: ${e.message}${hint}\n`);
      process.exit(2);
    }
    throw err;
  }
}

// The `jit` command line: broker, worker and demo subcommands.
import { Command } from 'commander';
import { JitError } from '../core/errors.ts';
import { backtestCommand } from './backtest-command.ts';
import { brokerCommand } from './broker-command.ts';
import { demoCommand } from './demo-command.ts';
import { workerCommand } from './worker-command.ts';

export function buildCli(): Command {
  return new Command('jit')
    .description('JustInTimeout: per-endpoint timeouts computed from real latency')
    .version('0.1.0')
    .showHelpAfterError()
    .addCommand(brokerCommand())
    .addCommand(workerCommand())
    .addCommand(demoCommand())
    .addCommand(backtestCommand());
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
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
      process.stderr.write(`jit: cannot listen: ${e.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

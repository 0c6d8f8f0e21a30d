// `jit export`: write the broker's served timeouts into Gateway API, Istio, Envoy, nginx, HAProxy or JSON configuration.
import { Command } from 'commander';
import { exportCliOptions, exportConfigSchema } from '../export/config.ts';
import { addOptions, parseWithFlags } from './options.ts';

export function exportCommand(): Command {
  const cmd = new Command('export').description(
    'write the served timeouts as gateway, mesh or proxy configuration (docs/export.md)',
  );
  const options = addOptions(cmd, exportConfigSchema, exportCliOptions);
  return cmd.action(async () => {
    const { values, problems } = options.read(cmd);
    const config = parseWithFlags(exportConfigSchema, values, problems, options.flags);
    // Loaded only now, not for --help.
    const { runExport } = await import('../export/run.ts');
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      process.exitCode = await runExport(config, {
        stdout: (text) => process.stdout.write(text),
        log: (line) => process.stderr.write(`${line}\n`),
        signal: stop.signal,
      });
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  });
}

// `jit broker`: run the broker (endpoint list, cycles, registry, serving).
import { Command } from 'commander';
import { brokerCliOptions, brokerConfigSchema } from '../broker/config.ts';
import { addOptions, parseWithFlags } from './options.ts';

export function brokerCommand(): Command {
  const cmd = new Command('broker').description(
    'run the broker: reads the endpoint list, hands computations to workers, serves timeouts',
  );
  const options = addOptions(cmd, brokerConfigSchema, brokerCliOptions);
  return cmd.action(async () => {
    const { values, problems } = options.read(cmd);
    // The contract of issue 15: `--otlp-port 0` turns the receiver off (the library reads 0 as
    // "any free port", and null as off).
    if (values.otlpPort === 0) values.otlpPort = null;
    const config = parseWithFlags(brokerConfigSchema, values, problems, options.flags);
    // Loaded only now: building the command (and --help) must not load Fastify, SQLite, pino…
    const [{ startBroker }, { cliLoggerOptions }, { closeOnSignals }] = await Promise.all([
      import('../broker/run.ts'),
      import('../core/logger.ts'),
      import('../core/process.ts'),
    ]);
    const broker = await startBroker(config, { logger: cliLoggerOptions({ name: 'broker' }) });
    closeOnSignals(() => broker.close(), broker.log);
  });
}

// `jit broker`: run the broker (endpoint list, cycles, registry, serving).
import { Command } from 'commander';
import { brokerConfig } from '../broker/config.ts';
import { startBroker } from '../broker/run.ts';
import { cliLoggerOptions } from '../core/logger.ts';
import { closeOnSignals } from '../core/process.ts';
import { defined, num, opt, tokenFrom, tokenOptions, withFlagNames } from './options.ts';

export function brokerCommand(): Command {
  const [workerToken, workerTokenFile] = tokenOptions(
    'worker',
    'token workers must present (default: none, open)',
  );
  const [adminToken, adminTokenFile] = tokenOptions(
    'admin',
    'token for the admin routes (default: none, open)',
  );
  const [readToken, readTokenFile] = tokenOptions(
    'read',
    'token for reads (default: none, reads are open)',
  );
  return new Command('broker')
    .description(
      'run the broker: reads the endpoint list, hands computations to workers, serves timeouts',
    )
    .addOption(
      opt(
        '--host <host>',
        'interface to listen on (0.0.0.0 for all)',
        'JIT_BROKER_HOST',
        '127.0.0.1',
      ),
    )
    .addOption(
      opt('--port <port>', 'port to listen on (0 = any free port)', 'JIT_BROKER_PORT', '5000'),
    )
    .addOption(
      opt(
        '--endpoints <file>',
        'endpoint list, one name per line, re-read every cycle',
        'JIT_ENDPOINTS',
        'endpoints.config',
      ),
    )
    .addOption(
      opt(
        '--cycle-pause-ms <ms>',
        'pause between the end of a cycle and the next, in ms',
        'JIT_CYCLE_PAUSE_MS',
        '5000',
      ),
    )
    .addOption(
      opt(
        '--call-timeout-ms <ms>',
        'time allowed for one call to a worker, in ms',
        'JIT_CALL_TIMEOUT_MS',
        '30000',
      ),
    )
    .addOption(
      opt(
        '--batch-size <n>',
        'jobs per call at most, to workers that take batches (1 = one job per call)',
        'JIT_BATCH_SIZE',
        '8',
      ),
    )
    .addOption(
      opt(
        '--concurrency <n>',
        'jobs in flight per worker (when the worker announces none)',
        'JIT_CONCURRENCY',
        '1',
      ),
    )
    .addOption(
      opt(
        '--max-attempts <n>',
        'attempts per endpoint per cycle, each on another worker',
        'JIT_MAX_ATTEMPTS',
        '2',
      ),
    )
    .addOption(
      opt(
        '--lease-ms <ms>',
        'evict a worker after this long without a heartbeat, in ms',
        'JIT_LEASE_MS',
        '30000',
      ),
    )
    .addOption(
      opt(
        '--legacy-lease-ms <ms>',
        'lease of workers registered via GET /register, in ms',
        'JIT_LEGACY_LEASE_MS',
        '1500000',
      ),
    )
    .addOption(
      opt(
        '--legacy-worker-port <port>',
        'port of workers registered via GET /register',
        'JIT_LEGACY_WORKER_PORT',
        '7000',
      ),
    )
    .addOption(
      opt(
        '--alpha <rate>',
        'target false-timeout rate sent with every job (0..1)',
        'JIT_ALPHA',
        '0.001',
      ),
    )
    .addOption(
      opt(
        '--strategy <name>',
        "strategy every job names (default: each worker's own)",
        'JIT_BROKER_STRATEGY',
      ),
    )
    .addOption(
      opt(
        '--spike-factor <x>',
        'a new value above this × the old one is a spike',
        'JIT_SPIKE_FACTOR',
        '5',
      ),
    )
    .addOption(
      opt(
        '--spike-replace-factor <x>',
        'a spike is stored as this × the old value',
        'JIT_SPIKE_REPLACE_FACTOR',
        '2',
      ),
    )
    .addOption(
      opt(
        '--margin-threshold-ms <ms>',
        'stored values above this get the multiplicative margin, in ms',
        'JIT_MARGIN_THRESHOLD_MS',
        '5',
      ),
    )
    .addOption(
      opt(
        '--margin-factor <x>',
        'multiplicative margin on served values',
        'JIT_MARGIN_FACTOR',
        '1.1',
      ),
    )
    .addOption(
      opt(
        '--margin-add-ms <ms>',
        'additive margin for small values, in ms',
        'JIT_MARGIN_ADD_MS',
        '1',
      ),
    )
    .addOption(
      opt(
        '--default-timeout-ms <ms>',
        'served before anything is computed, in ms',
        'JIT_DEFAULT_TIMEOUT_MS',
        '100',
      ),
    )
    .addOption(opt('--min-ms <ms>', 'lower clamp on served timeouts, in ms', 'JIT_MIN_MS', '0'))
    .addOption(
      opt('--max-ms <ms>', 'upper clamp on served timeouts, in ms', 'JIT_MAX_MS', 'Infinity'),
    )
    .addOption(
      opt('--max-workers <n>', 'most workers registered at once', 'JIT_MAX_WORKERS', '1000'),
    )
    .addOption(
      opt(
        '--max-endpoints <n>',
        'most endpoints (file and API together)',
        'JIT_MAX_ENDPOINTS',
        '100000',
      ),
    )
    .addOption(
      opt(
        '--store <path>',
        'SQLite file for values, history and API-added endpoints (":memory:" for none)',
        'JIT_STORE',
        'jit-data/broker.db',
      ),
    )
    .addOption(
      opt(
        '--history-retention-hours <h>',
        'history older than this is deleted, in hours',
        'JIT_HISTORY_RETENTION_HOURS',
        '168',
      ),
    )
    .addOption(
      opt(
        '--max-accepted-ms <ms>',
        'worker replies above this are rejected as implausible, in ms',
        'JIT_MAX_ACCEPTED_MS',
        '3600000',
      ),
    )
    .addOption(
      opt(
        '--rate-limit-per-minute <n>',
        'requests per minute per client on registration and admin routes',
        'JIT_RATE_LIMIT_PER_MINUTE',
        '120',
      ),
    )
    .addOption(workerToken)
    .addOption(workerTokenFile)
    .addOption(adminToken)
    .addOption(adminTokenFile)
    .addOption(readToken)
    .addOption(readTokenFile)
    .action(async (o: Record<string, string | undefined>) => {
      const config = withFlagNames(
        () =>
          brokerConfig(
            defined({
              host: o.host,
              port: num(o.port),
              endpointsFile: o.endpoints,
              cyclePauseMs: num(o.cyclePauseMs),
              callTimeoutMs: num(o.callTimeoutMs),
              batchSize: num(o.batchSize),
              concurrency: num(o.concurrency),
              maxAttempts: num(o.maxAttempts),
              leaseMs: num(o.leaseMs),
              legacyLeaseMs: num(o.legacyLeaseMs),
              legacyWorkerPort: num(o.legacyWorkerPort),
              alpha: num(o.alpha),
              strategy: o.strategy,
              spikeFactor: num(o.spikeFactor),
              spikeReplaceFactor: num(o.spikeReplaceFactor),
              marginThresholdMs: num(o.marginThresholdMs),
              marginFactor: num(o.marginFactor),
              marginAddMs: num(o.marginAddMs),
              defaultTimeoutMs: num(o.defaultTimeoutMs),
              minMs: num(o.minMs),
              maxMs: num(o.maxMs),
              maxWorkers: num(o.maxWorkers),
              maxEndpoints: num(o.maxEndpoints),
              store: o.store,
              historyRetentionHours: num(o.historyRetentionHours),
              maxAcceptedMs: num(o.maxAcceptedMs),
              rateLimitPerMinute: num(o.rateLimitPerMinute),
              workerToken: tokenFrom('worker', o.workerToken, o.workerTokenFile),
              adminToken: tokenFrom('admin', o.adminToken, o.adminTokenFile),
              readToken: tokenFrom('read', o.readToken, o.readTokenFile),
            }),
          ),
        { endpointsFile: '--endpoints' },
      );
      const broker = await startBroker(config, { logger: cliLoggerOptions({ name: 'broker' }) });
      closeOnSignals(() => broker.close(), broker.log);
    });
}

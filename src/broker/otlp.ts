// The broker's OTLP side: span windows (SQLite beside the store, or memory), discovery, ingest, receiver.
import { basename, dirname, extname, join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { PortInUseError } from '../core/errors.ts';
import { decodeJsonTraces } from '../otlp/decode-json.ts';
import { decodeProtobufTraces } from '../otlp/decode-protobuf.ts';
import { Discovery } from './discovery.ts';
import { Ingest } from '../otlp/ingest.ts';
import { compileNaming, namingAttributeKeys } from '../otlp/naming.ts';
import { OtlpReceiver, type OtlpReceiverOptions } from '../otlp/receiver.ts';
import type { SpanWindows } from '../store/span-window-types.ts';
import { isPostgresUrl } from '../store/pg-store.ts';
import { MemorySpanWindows } from '../store/span-windows-memory.ts';
import { SqliteSpanWindows } from '../store/span-windows-sqlite.ts';
import type { TimeoutStore } from '../store/types.ts';
import type { BrokerConfig } from './config.ts';

/**
 * The span windows' file for a broker store file: beside it, named after it
 * (`jit-data/broker.db` → `jit-data/broker-windows.db`), so that two brokers with stores in
 * one folder keep apart; `:memory:` keeps the windows in memory too.
 */
export function windowsPathFor(store: string): string {
  // With a PostgreSQL store each broker keeps the windows of the spans it received in memory
  // (not shared between brokers: docs/decisions.md, "Many brokers on PostgreSQL").
  if (store === ':memory:' || isPostgresUrl(store)) return ':memory:';
  return join(dirname(store), `${basename(store, extname(store))}-windows.db`);
}

export interface BrokerOtlp {
  windows: SpanWindows;
  receiver: OtlpReceiver;
  /** Starts the receiver on `otlpHost`:`otlpPort`. */
  listen(): Promise<string>;
  /** Stops the receiver (exports in flight finish), then closes the windows. */
  close(): Promise<void>;
}

/** The span windows of a broker whose config has an `otlpPort` (null: none). */
export function buildOtlpWindows(config: Readonly<BrokerConfig>): SpanWindows | undefined {
  if (config.otlpPort === null) return undefined;
  const maxAgeMs = config.otlpWindowHours * 3_600_000;
  const path = windowsPathFor(config.store);
  return path === ':memory:'
    ? new MemorySpanWindows({ limit: config.otlpWindowLimit, maxAgeMs })
    : new SqliteSpanWindows({ path, limit: config.otlpWindowLimit, maxAgeMs });
}

/** The broker's discovery (OTLP spans and workers' reports), over `windows` when the receiver is on. */
export function buildDiscovery(
  config: Readonly<BrokerConfig>,
  store: TimeoutStore,
  windows: SpanWindows | undefined,
  log: FastifyBaseLogger,
): Discovery {
  return new Discovery({
    store,
    windows,
    maxEndpoints: config.maxEndpoints,
    allow: [...config.discoveryAllow, ...config.otlpAllow],
    deny: [...config.discoveryDeny, ...config.otlpDeny],
    maxAgeMs: config.otlpWindowHours * 3_600_000,
    reportedMaxAgeMs: config.discoveryMaxAgeHours * 3_600_000,
    log,
  });
}

/** Builds the OTLP side of a broker over its windows (undefined: the receiver is off). */
export function buildOtlp(
  config: Readonly<BrokerConfig>,
  windows: SpanWindows | undefined,
  discovery: Discovery,
  log: FastifyBaseLogger,
  onAnswer?: OtlpReceiverOptions['onAnswer'],
): BrokerOtlp | undefined {
  if (windows === undefined || config.otlpPort === null) return undefined;
  const maxAgeMs = config.otlpWindowHours * 3_600_000;
  const naming = { templates: config.otlpNameTemplates };
  const ingest = new Ingest({
    windows,
    discovery,
    decode: {
      protobuf: decodeProtobufTraces,
      // Invalid UTF-8 becomes U+FFFD: names are sanitized, and JSON syntax is ASCII.
      json: (body, opts) => decodeJsonTraces(Buffer.from(body).toString('utf8'), opts),
    },
    name: compileNaming(naming),
    attributeKeys: namingAttributeKeys(naming),
    maxAgeMs,
  });
  const host = config.otlpHost ?? config.host;
  const port = config.otlpPort;
  const receiver = new OtlpReceiver({
    host,
    port,
    token: config.otlpToken,
    maxBodyBytes: config.otlpMaxBodyBytes,
    maxDecompressedBytes: config.otlpMaxDecompressedBytes,
    maxInFlight: config.otlpMaxInFlight,
    ingest,
    log,
    onAnswer,
  });
  return {
    windows,
    receiver,
    async listen() {
      try {
        await receiver.listen();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
          throw new PortInUseError(
            port,
            'choose another for the OTLP receiver with --otlp-port (0 turns it off)',
          );
        throw err;
      }
      log.info(`OTLP receiver listening on ${receiver.url} (POST /v1/traces)`);
      return receiver.url;
    },
    async close() {
      await receiver.close();
      await windows.close();
    },
  };
}

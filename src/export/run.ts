// `jit export`'s work: read the broker, render the format, write stdout or the file (once, or on every change with --watch).
import { BrokerReadError } from '../core/errors.ts';
import { readServedValues } from './broker-read.ts';
import type { ExportConfig } from './config.ts';
import { readBase } from './kubernetes-base.ts';
import { EMPTY_MAPPING, readMapping } from './mapping.ts';
import { MAPPING_KEY, renderExport } from './render.ts';
import type { ServedValue } from './types.ts';
import { Hysteresis, readIfExists, runCommand, writeAtomic } from './watch.ts';

export interface ExportIo {
  stdout: (text: string) => void;
  /** One line of news or trouble (without the newline). */
  log: (line: string) => void;
  /** Stops --watch (the command aborts it on SIGTERM and SIGINT). */
  signal?: AbortSignal;
}

/**
 * Runs the export; resolves the exit code: 0, or 1 when the broker cannot be read (once) or the
 * --on-change command failed. Bad options and mappings throw InvalidConfigError (exit 2).
 */
export async function runExport(config: Readonly<ExportConfig>, io: ExportIo): Promise<number> {
  const mapping = config.mapping === undefined ? EMPTY_MAPPING : readMapping(config.mapping);
  const base = readBase(config.base);
  const key = MAPPING_KEY[config.format];
  if (key !== undefined && !Object.values(mapping.endpoints).some((e) => e[key] !== undefined)) {
    io.log(
      `jit export: the mapping maps no endpoint for ${config.format}; the output names no route (docs/export.md)`,
    );
  }
  /** The endpoints this format writes: the mapped ones (json: all). */
  const relevant = (values: readonly ServedValue[]) =>
    key === undefined
      ? [...values]
      : values.filter((v) => mapping.endpoints[v.endpoint]?.[key] !== undefined);
  const warned = new Set<string>();
  const warnMissing = (values: readonly ServedValue[]) => {
    const listed = new Set(values.map((v) => v.endpoint));
    for (const name of Object.keys(mapping.endpoints)) {
      if (listed.has(name) || warned.has(name)) continue;
      warned.add(name);
      io.log(
        `jit export: the mapping names ${JSON.stringify(name)}, which the broker does not list`,
      );
    }
  };
  const read = async () => {
    const values = await readServedValues({
      brokerUrl: config.brokerUrl,
      readToken: config.readToken,
      timeoutMs: config.requestTimeoutMs,
    });
    warnMissing(values);
    return relevant(values);
  };
  const render = (values: readonly ServedValue[]) =>
    renderExport(config.format, { values, mapping, base });

  if (!config.watch) {
    let values: ServedValue[];
    try {
      values = await read();
    } catch (err) {
      if (!(err instanceof BrokerReadError)) throw err;
      io.log(`jit export: ${err.message}`);
      return 1;
    }
    const text = render(values);
    if (config.out === undefined) {
      io.stdout(text);
      return 0;
    }
    return (await writeIfChanged(config, text, io)) ? 0 : 1;
  }
  return watch(config, read, render, io);
}

/** Writes --out unless it holds `text` already, then runs --on-change; false when that command failed. */
async function writeIfChanged(
  config: Readonly<ExportConfig>,
  text: string,
  io: ExportIo,
  why = '',
): Promise<boolean> {
  const out = config.out as string;
  if (readIfExists(out) === text) return true;
  writeAtomic(out, text);
  io.log(`jit export: wrote ${out}${why}`);
  if (config.onChange === undefined) return true;
  const code = await runCommand(config.onChange);
  if (code !== 0) io.log(`jit export: --on-change command exited with ${code}`);
  return code === 0;
}

async function watch(
  config: Readonly<ExportConfig>,
  read: () => Promise<ServedValue[]>,
  render: (values: readonly ServedValue[]) => string,
  io: ExportIo,
): Promise<number> {
  const hysteresis = new Hysteresis(config.minChange);
  let lastProblem: string | undefined;
  while (!io.signal?.aborted) {
    try {
      const { values, changes } = hysteresis.apply(await read());
      if (lastProblem !== undefined) io.log('jit export: the broker answers again');
      lastProblem = undefined;
      if (changes.length > 0) {
        const shown =
          changes.slice(0, 5).join(', ') + (changes.length > 5 ? `, … (${changes.length})` : '');
        await writeIfChanged(config, render(values), io, ` (${shown})`);
      }
    } catch (err) {
      if (!(err instanceof BrokerReadError)) throw err;
      // Logged once per distinct problem: a broker down for an hour is one line, not 360.
      if (err.message !== lastProblem)
        io.log(`jit export: ${err.message}; keeping ${config.out} as it is`);
      lastProblem = err.message;
    }
    await sleep(config.intervalMs, io.signal);
  }
  return 0;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

// `jit source check`: the worker's source options → the exact queries, the samples per endpoint, and what is missing.
import { Command } from 'commander';
import { JitError } from '../core/errors.ts';
import type { LatencySource, FetchOptions, SourceInspection } from '../sources/types.ts';
import { addWorkerOptions, readWorkerOptions } from './worker-command.ts';

/**
 * What the check finds for a source without `inspect`: each named endpoint's window through
 * `fetchWindow` (the queries are the source's own business), or the discovered ones.
 */
async function fallbackInspection(
  source: LatencySource,
  named: readonly string[],
  fetch: FetchOptions,
): Promise<SourceInspection> {
  const problems: string[] = [];
  let endpoints = named;
  if (endpoints.length === 0 && source.discover) endpoints = await source.discover(fetch);
  if (endpoints.length === 0) problems.push('no endpoints to check: name some after "check"');
  const samples: SourceInspection['samples'] = [];
  for (const endpoint of endpoints) {
    const count = (await source.fetchWindow(endpoint, fetch)).durationsMs.length;
    samples.push({ endpoint, count });
    if (count === 0)
      problems.push(
        `no spans for endpoint ${JSON.stringify(endpoint)} in the last ${fetch.windowHours} h`,
      );
  }
  return { queries: [], samples, problems };
}

/** The report `jit source check` prints: queries, samples, problems. */
export function formatInspection(source: string, inspection: SourceInspection): string {
  const lines = [`source: ${source}`];
  if (inspection.queries.length > 0) {
    lines.push(`queries (${inspection.queries.length}):`);
    for (const q of inspection.queries) lines.push(`  ${q}`);
  }
  lines.push(`samples per endpoint (${inspection.samples.length}):`);
  for (const s of inspection.samples) lines.push(`  ${String(s.count).padStart(7)}  ${s.endpoint}`);
  if (inspection.samples.length === 0) lines.push('  (none)');
  return lines.join('\n') + '\n';
}

export function sourceCommand(): Command {
  const check = new Command('check')
    .description(
      "check a worker's source: prints the exact query run for each endpoint (those named, else those discovered), the samples found, and what is missing; exits 1 when something is",
    )
    .argument(
      '[endpoints...]',
      'endpoint names to check (default: the endpoints the source holds)',
    );
  const sets = addWorkerOptions(check);
  check.action(async (endpoints: string[]) => {
    const { config, source } = await readWorkerOptions(check, sets);
    const fetch = { windowHours: config.windowHours, limit: config.windowLimit };
    let inspection: SourceInspection;
    if (!source.inspect)
      process.stdout.write(
        `source ${source.name} cannot show its queries or look for what is missing: samples counted through its windows\n`,
      );
    try {
      inspection = source.inspect
        ? await source.inspect(endpoints, fetch)
        : await fallbackInspection(source, endpoints, fetch);
    } catch (err) {
      // The source cannot be asked at all (down, refused credentials, garbage answers).
      if (!(err instanceof JitError)) throw err;
      inspection = { queries: [], samples: [], problems: [err.message] };
    } finally {
      await source.close?.();
    }
    process.stdout.write(formatInspection(config.source, inspection));
    if (inspection.problems.length === 0) {
      process.stdout.write('ok: every endpoint has samples\n');
      return;
    }
    for (const p of inspection.problems) process.stderr.write(`jit source check: ${p}\n`);
    process.exitCode = 1;
  });
  return new Command('source').description("look at a worker's latency source").addCommand(check);
}

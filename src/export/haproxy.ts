// HAProxy: one backend section per mapped endpoint with `timeout server` set to the served value.
import { InvalidConfigError } from '../core/errors.ts';
import { msTime } from './durations.ts';
import { quotedForComment } from './safe.ts';
import { mappedFor, type ExportInput } from './types.ts';

/**
 * `timeout server` is HAProxy's wait for the server's answer (and between its later packets).
 * The sections inherit everything else (`mode`, `timeout connect`) from the `defaults` section
 * of the configuration loaded before this file (`haproxy -f haproxy.cfg -f jit-backends.cfg`).
 * Names and addresses have passed the mapping's allowlists; endpoint names appear only in
 * comments, quoted by {@link quotedForComment}.
 */
export function renderHaproxy(input: ExportInput): string {
  const lines = [
    '# Written by `jit export --format haproxy`; load it after the file with the defaults.',
  ];
  const seen = new Map<string, string>();
  for (const { value, target } of mappedFor(input, 'haproxy')) {
    const other = seen.get(target.backend);
    if (other !== undefined) {
      throw new InvalidConfigError([
        `mapping: endpoints ${JSON.stringify(other)} and ${JSON.stringify(value.endpoint)} both map to haproxy backend ${target.backend}`,
      ]);
    }
    seen.set(target.backend, value.endpoint);
    lines.push(
      '',
      `backend ${target.backend}`,
      `    # endpoint ${quotedForComment(value.endpoint)}: ${value.servedMs === null ? 'no value yet, the defaults apply' : `${value.servedMs} ms served`} (${value.status})`,
    );
    if (value.servedMs !== null) lines.push(`    timeout server ${msTime(value.servedMs)}`);
    target.servers.forEach((address, i) => lines.push(`    server s${i + 1} ${address}`));
  }
  return `${lines.join('\n')}\n`;
}

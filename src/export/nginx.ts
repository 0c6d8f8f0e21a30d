// nginx: one `location` block per mapped endpoint with proxy_read_timeout set to the served value.
import { InvalidConfigError } from '../core/errors.ts';
import { msTime } from './durations.ts';
import { quotedForComment } from './safe.ts';
import { mappedFor, type ExportInput } from './types.ts';

/**
 * Only `proxy_read_timeout` is set: it is how long nginx waits for the upstream between two
 * reads, starting when the request has been sent — for a response that is computed and then
 * sent, the wait for the answer, which is what the endpoint's latency measures.
 * `proxy_connect_timeout` (establishing the connection, not latency; nginx caps it at 75 s) and
 * `proxy_send_timeout` (between two writes of the request body) measure other things and are
 * left to the surrounding configuration. The file is meant for `include` inside a `server`
 * block; every value in it has passed the mapping's allowlists, and endpoint names appear only
 * in comments, quoted by {@link quotedForComment}.
 */
export function renderNginx(input: ExportInput): string {
  const lines = ['# Written by `jit export --format nginx`; include it inside a server { } block.'];
  const seen = new Map<string, string>();
  for (const { value, target } of mappedFor(input, 'nginx')) {
    const key = `${target.match} ${target.location}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new InvalidConfigError([
        `mapping: endpoints ${JSON.stringify(other)} and ${JSON.stringify(value.endpoint)} both map to nginx location ${key}`,
      ]);
    }
    seen.set(key, value.endpoint);
    lines.push(
      '',
      `# endpoint ${quotedForComment(value.endpoint)}: ${value.servedMs === null ? 'no value yet, nginx default' : `${value.servedMs} ms served`} (${value.status})`,
      `location ${target.match === 'exact' ? '= ' : ''}${target.location} {`,
      `    proxy_pass ${target.proxyPass};`,
    );
    if (value.servedMs !== null) lines.push(`    proxy_read_timeout ${msTime(value.servedMs)};`);
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}

// nginx and HAProxy from Debian for the export tests: where they are, and a loud skip (a failure with CI=true) when missing.
import { accessSync, constants } from 'node:fs';

export const NGINX = process.env.JIT_NGINX_PATH ?? '/usr/sbin/nginx';
export const HAPROXY = process.env.JIT_HAPROXY_PATH ?? '/usr/sbin/haproxy';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Inside a test: true when `path` can be run. When it is missing, CI=true makes this throw (the
 * test fails); elsewhere the test is skipped with a loud warning and false is answered.
 */
export function requireProgram(
  t: { skip(message?: string): void },
  path: string,
  apt: string,
): boolean {
  if (executable(path)) return true;
  const message = `${path} not installed; install it with \`apt-get install -y ${apt}\``;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message}`);
  console.warn(`SKIPPED: ${message}`);
  t.skip(`SKIPPED: ${message}`);
  return false;
}

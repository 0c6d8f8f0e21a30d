// A fingerprint of the TypeScript sources, so that the CLI runs dist/ only when it was built from them.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's src/ folder. */
export const SRC_DIR = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * SHA-256 over the path and content of every file under src/ (tests included: simpler, and a
 * changed test only sends the CLI back to the sources). Content, not modification times: a
 * checkout that rewrites files unchanged keeps the build valid. ~5 ms for the whole tree.
 */
export function sourceStamp(dir = SRC_DIR) {
  const hash = createHash('sha256');
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        hash.update(`${relative(dir, path)}\0`);
        hash.update(readFileSync(path));
        hash.update('\0');
      }
    }
  };
  walk(dir);
  return hash.digest('hex');
}

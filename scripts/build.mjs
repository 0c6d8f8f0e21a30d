// Compiles src/ to dist/ (plain JavaScript, same layout) and stamps it with the sources' fingerprint.
// `npm install` runs it (the "prepare" script). Without TypeScript installed (a production-only
// install) it says so and leaves dist/ alone: the CLI then runs the sources through tsx.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceStamp, SRC_DIR } from './source-stamp.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');

function findTsc() {
  const local = join(ROOT, 'node_modules', '.bin', 'tsc');
  if (existsSync(local)) return local;
  try {
    execFileSync('tsc', ['--version'], { stdio: 'ignore' });
    return 'tsc';
  } catch {
    return undefined;
  }
}

const tsc = findTsc();
if (!tsc) {
  process.stderr.write(
    'build: TypeScript is not installed; skipped (the CLI runs src/ through tsx)\n',
  );
  process.exit(0);
}
const stamp = sourceStamp();
rmSync(DIST, { recursive: true, force: true });
// Types are checked by `npm test`; the build only emits (a type error must not stop an install).
execFileSync(tsc, ['-p', join(ROOT, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });
// What tsc does not emit: the dashboard's static files and the forecast pool's thread entry.
cpSync(join(SRC_DIR, 'dashboard', 'public'), join(DIST, 'dashboard', 'public'), {
  recursive: true,
  filter: (path) => !path.endsWith('.ts') && !path.endsWith('tsconfig.json'),
});
cpSync(
  join(SRC_DIR, 'strategies', 'seed', 'forecast-task.mjs'),
  join(DIST, 'strategies', 'seed', 'forecast-task.mjs'),
);
writeFileSync(join(DIST, 'source-stamp.json'), `${JSON.stringify({ stamp })}\n`);
process.stderr.write(`build: dist/ compiled from src/ (${stamp.slice(0, 12)})\n`);

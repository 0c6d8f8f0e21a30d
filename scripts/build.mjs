// Compiles src/ to dist/ (JavaScript and .d.ts, same layout) and stamps it with the sources' fingerprint.
// `npm install` in a checkout and `npm pack`/`npm publish` run it (the "prepare" script). Without
// TypeScript installed (a production-only install of a checkout) it says so and leaves dist/
// alone: the CLI then runs the sources through tsx; `npm pack` then fails instead, as a package
// without dist/ would not work.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * tsc 5.9 rewrites `./x.ts` to `./x.js` in the JavaScript it emits
 * (`rewriteRelativeImportExtensions`) but not in declarations: a consumer's TypeScript would then
 * look for .ts files that the package does not ship. Rewrites every relative specifier of every
 * .d.ts under `dir` (`from '…'`, `import('…')`) and answers how many files changed.
 */
function rewriteDeclarationSpecifiers(dir) {
  const specifier =
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"\n]*?)(?<!\.d)\.([mc]?)ts\2/g;
  let changed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.d\.[mc]?ts$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path, 'utf8');
    const rewritten = text.replace(specifier, '$1$2$3.$4js$2');
    if (/(\bfrom\s*|\bimport\s*\(\s*)['"]\.\.?\/[^'"\n]*(?<!\.d)\.[mc]?ts['"]/.test(rewritten)) {
      throw new Error(`build: ${path} still imports a .ts file`);
    }
    if (rewritten !== text) {
      writeFileSync(path, rewritten);
      changed++;
    }
  }
  return changed;
}

// npm sets npm_command for its scripts: "pack" and "publish" make the tarball, which needs dist/.
const packing = ['pack', 'publish'].includes(process.env.npm_command ?? '');
const tsc = findTsc();
if (!tsc) {
  if (packing) {
    process.stderr.write('build: TypeScript is not installed; cannot pack without dist/\n');
    process.exit(1);
  }
  process.stderr.write(
    'build: TypeScript is not installed; skipped (the CLI runs src/ through tsx)\n',
  );
  process.exit(0);
}
const stamp = sourceStamp();
rmSync(DIST, { recursive: true, force: true });
// Types are checked by `npm test`; the build only emits (a type error must not stop an install).
execFileSync(tsc, ['-p', join(ROOT, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });
rewriteDeclarationSpecifiers(DIST);
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

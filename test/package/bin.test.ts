// bin/jit.js in the layouts the checkout's cli-entry test does not cover: an installed package, and a checkout without tsx.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'jit-bin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A package folder with the real bin/jit.js and whatever `files` says, and no node_modules. */
function layout(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(join(REPO, 'bin/jit.js'), join(root, 'bin/jit.js'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const run = (root: string) =>
  spawnSync(process.execPath, [join(root, 'bin/jit.js'), '--help'], {
    cwd: root,
    env: { ...process.env, JIT_FROM_SOURCE: '' },
    encoding: 'utf8',
  });

const DIST_MAIN = `export function main(argv) { process.stdout.write('dist ' + argv.slice(2).join(' ')); }\n`;

describe('bin/jit.js', () => {
  it('in an installed package (no src/, no scripts/, no stamp, no tsx) runs dist/', () => {
    const root = layout('installed', { 'dist/cli/main.js': DIST_MAIN });
    const r = run(root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'dist --help');
  });

  it('in an installed package, JIT_FROM_SOURCE=1 has nothing to run but dist/', () => {
    const root = join(dir, 'installed');
    const r = spawnSync(process.execPath, [join(root, 'bin/jit.js'), 'x'], {
      env: { ...process.env, JIT_FROM_SOURCE: '1' },
      encoding: 'utf8',
    });
    assert.equal(r.stdout, 'dist x', r.stderr);
  });

  it('in a checkout without a current build and without tsx, says what to do in one line', () => {
    const root = layout('checkout', {
      'src/cli/main.ts': 'export function main(): void {}\n',
      'scripts/source-stamp.mjs': "export function sourceStamp() { return 'now'; }\n",
      'dist/cli/main.js': DIST_MAIN,
      'dist/source-stamp.json': '{"stamp":"before"}\n',
    });
    const r = run(root);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^jit: dist\/ is missing or older than src\/, and tsx .* `npm run build`\n$/,
    );
  });
});

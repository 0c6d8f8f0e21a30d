// bin/jit.js runs dist/ only when it was built from the sources as they are, else src/ through tsx.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sourceStamp } from '../../scripts/source-stamp.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'jit-entry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A miniature repository: the real entry and stamp code, a source tree and a "compiled" one
// that say which of them ran.
for (const d of ['bin', 'scripts', 'src/cli', 'dist/cli'])
  mkdirSync(join(dir, d), { recursive: true });
copyFileSync(join(REPO, 'bin/jit.js'), join(dir, 'bin/jit.js'));
copyFileSync(join(REPO, 'scripts/source-stamp.mjs'), join(dir, 'scripts/source-stamp.mjs'));
symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
const writeSource = (v: string) =>
  writeFileSync(
    join(dir, 'src/cli/main.ts'),
    `export function main(argv: string[]): void { process.stdout.write('src ${v} ' + argv.slice(2).join(' ')); }\n`,
  );
writeFileSync(
  join(dir, 'dist/cli/main.js'),
  "export function main(argv) { process.stdout.write('dist ' + argv.slice(2).join(' ')); }\n",
);
const stampDist = () =>
  writeFileSync(
    join(dir, 'dist/source-stamp.json'),
    JSON.stringify({ stamp: sourceStamp(join(dir, 'src')) }),
  );
const run = (env: Record<string, string> = {}) =>
  execFileSync(process.execPath, [join(dir, 'bin/jit.js'), 'broker', '--port', '0'], {
    env: { ...process.env, JIT_FROM_SOURCE: '', ...env },
    encoding: 'utf8',
  });

describe('bin/jit.js', () => {
  it('runs the sources through tsx when there is no build', () => {
    writeSource('v1');
    assert.equal(run(), 'src v1 broker --port 0');
  });

  it('runs dist/ when it was built from the current sources', () => {
    stampDist();
    assert.equal(run(), 'dist broker --port 0');
  });

  it('goes back to the sources as soon as one changes, and to dist/ after the next build', () => {
    writeSource('v2');
    assert.equal(run(), 'src v2 broker --port 0');
    writeFileSync(join(dir, 'src/cli/new-file.ts'), 'export {};\n');
    stampDist();
    assert.equal(run(), 'dist broker --port 0');
    rmSync(join(dir, 'src/cli/new-file.ts'));
    assert.equal(run(), 'src v2 broker --port 0', 'a deleted file makes the build stale too');
  });

  it('JIT_FROM_SOURCE=1 forces the sources', () => {
    stampDist();
    assert.equal(run(), 'dist broker --port 0');
    assert.equal(run({ JIT_FROM_SOURCE: '1' }), 'src v2 broker --port 0');
  });
});

describe('the CLI module graph', () => {
  it('builds every command and its --help without loading the servers, SQLite, pools or tfjs', () => {
    // A resolve hook (it runs in the loader thread) reports each resolved URL over a port; the
    // child builds the program, renders every command's help (defaults included) and prints the
    // packages it loaded.
    const hook = [
      'let port;',
      'export function initialize(data) { port = data.port; }',
      'export async function resolve(s, c, next) {',
      '  const r = await next(s, c);',
      '  port.postMessage(r.url);',
      '  return r;',
      '}',
    ].join('\n');
    const script = `
      import { register } from 'node:module';
      import { MessageChannel } from 'node:worker_threads';
      const { port1, port2 } = new MessageChannel();
      const urls = [];
      port1.on('message', (u) => urls.push(u));
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), {
        data: { port: port2 },
        transferList: [port2],
      });
      const { buildCli } = await import('./src/cli/main.ts');
      const cli = buildCli();
      cli.helpInformation();
      for (const c of cli.commands) c.helpInformation();
      await new Promise((r) => setTimeout(r, 200)); // the last messages from the loader thread
      port1.close();
      const pkgs = new Set();
      for (const u of urls) {
        if (!u.includes('/node_modules/')) continue;
        const parts = u.split('/node_modules/').pop().split('/');
        pkgs.add(parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]);
      }
      process.stdout.write(JSON.stringify({ pkgs: [...pkgs].sort(), commands: cli.commands.map((c) => c.name()) }));
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: REPO,
        encoding: 'utf8',
        env: { ...process.env, NODE_TEST_CONTEXT: '' },
      }),
    ) as { pkgs: string[]; commands: string[] };
    assert.deepEqual(out.commands, ['broker', 'worker', 'source', 'demo', 'backtest', 'export']);
    // The hook works: the CLI's own dependencies are seen.
    assert.ok(out.pkgs.includes('commander') && out.pkgs.includes('zod'), out.pkgs.join(' '));
    const heavy = out.pkgs.filter((p) =>
      /^(fastify|@fastify\/|better-sqlite3|prom-client|piscina|pino|@tensorflow\/)/.test(p),
    );
    assert.deepEqual(heavy, [], `loaded to build the CLI: ${out.pkgs.join(', ')}`);
  });
});

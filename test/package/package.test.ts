// The package as users install it: packed, installed offline into a fresh project, used from ESM, CommonJS, TypeScript and the CLI.
//
// Everything runs offline and on 127.0.0.1 only. `npm pack` runs in a copy of the repository (its
// "prepare" script builds dist/ there, so the repository's own dist/ is left alone). The fresh
// project gets a lock file made of this repository's production entries: npm's cache (filled by
// `npm ci`) holds every tarball by integrity but not the registry's metadata, which an
// unlocked offline install would need. Native builds are skipped (`--ignore-scripts`; the
// package has no install scripts of its own, checked below) and better-sqlite3's compiled binary
// is copied from this repository's install, same version: compiling it again takes minutes and
// tests better-sqlite3, not this package. Without npm or a filled cache the test is skipped with
// a loud message, and fails instead under CI=true.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CI = process.env.CI === 'true' || process.env.CI === '1';
/** The repository's own TypeScript: the consumer is type-checked with the version we build with. */
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

const work = mkdtempSync(join(tmpdir(), 'jit-package-'));
const copy = join(work, 'repo');
const out = join(work, 'out');
const consumer = join(work, 'consumer');
const installed = join(consumer, 'node_modules', 'justintimeout');
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * npm's environment: the caller's npm settings (cache location, user config) but none of the
 * variables an outer `npm test` sets for its own script, and offline: any request beyond the
 * cache fails (ENOTCACHED) instead of reaching a registry.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.toLowerCase().startsWith('npm_') || k.toLowerCase().startsWith('npm_config_'))
      env[k] = v;
  }
  return {
    ...env,
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw Object.assign(
      new Error(`npm ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-3000)}`),
      { npmOutput: r.stderr },
    );
  }
  return r.stdout;
}

/** Runs node in the consumer project; `timeout` guards against a server that does not stop. */
function node(args: string[], timeout = 60_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd: consumer, encoding: 'utf8', timeout });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.error, undefined, `${what}: ${r.error?.message}`);
  assert.equal(r.status, 0, `${what} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** What prevents the test from running at all on this machine, or undefined. */
let unavailable: string | undefined;
let packFiles: string[] = [];
let tarball = '';
let packMs = 0;
let installMs = 0;

before(
  () => {
    const npmVersion = spawnSync('npm', ['--version'], { encoding: 'utf8' });
    if (npmVersion.status !== 0) {
      unavailable = 'npm is not on PATH';
      return;
    }
    // 1. Pack a copy of the repository as it is (tests, benchmarks and data included: the
    //    "files" list, not the copy, must keep them out).
    cpSync(REPO, copy, {
      recursive: true,
      filter: (src) => {
        const rel = relative(REPO, src).split('/')[0] ?? '';
        return !['node_modules', '.git', 'dist', 'jit-data', 'test-artifacts', 'coverage'].includes(
          rel,
        );
      },
    });
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
    mkdirSync(out);
    let started = performance.now();
    const packed = JSON.parse(
      npm(['pack', '--json', '--pack-destination', out], copy).replace(/^[^[]*/, ''),
    ) as { filename: string; integrity: string; files: { path: string }[] }[];
    packMs = performance.now() - started;
    const info = packed[0];
    assert.ok(info, 'npm pack answered nothing');
    packFiles = info.files.map((f) => f.path).sort();
    tarball = join(out, info.filename);

    // 2. A fresh project locked to this repository's production dependencies.
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const spec = `file:../out/${info.filename}`;
    const packages: Record<string, unknown> = {
      '': { name: 'consumer', version: '1.0.0', dependencies: { justintimeout: spec } },
      'node_modules/justintimeout': {
        version: pkg['version'],
        resolved: spec,
        integrity: info.integrity,
        license: pkg['license'],
        dependencies: pkg['dependencies'],
        peerDependencies: pkg['peerDependencies'],
        peerDependenciesMeta: pkg['peerDependenciesMeta'],
        bin: pkg['bin'],
        engines: pkg['engines'],
      },
    };
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path !== '' && !entry.dev) packages[path] = entry;
    }
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    writeFileSync(
      join(consumer, 'package-lock.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, packages }),
    );
    started = performance.now();
    try {
      npm(
        ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--offline', tarball],
        consumer,
      );
    } catch (err) {
      if (/ENOTCACHED/.test(String((err as { npmOutput?: string }).npmOutput))) {
        unavailable = `npm's cache lacks a dependency (run \`npm ci\` first): ${(err as Error).message}`;
        return;
      }
      throw err;
    }
    installMs = performance.now() - started;

    // 3. better-sqlite3's binary from this repository's install (see the header).
    const version = (dir: string) =>
      (
        JSON.parse(readFileSync(join(dir, 'better-sqlite3', 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    assert.equal(version(join(consumer, 'node_modules')), version(join(REPO, 'node_modules')));
    cpSync(
      join(REPO, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
      join(consumer, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
    );
    writeFileSync(join(consumer, 'endpoints.config'), 'customer\n');
  },
  { timeout: 600_000 },
);

describe('the npm package, installed from its tarball', { timeout: 600_000 }, () => {
  before(() => {
    if (unavailable && !CI)
      process.stderr.write(`\n!!! SKIPPED: package test cannot run: ${unavailable}\n\n`);
  });
  // Under CI=true every test fails instead of skipping: CI must have what the test needs.
  const test = (name: string, fn: () => void | Promise<void>) =>
    it(name, (t) => {
      if (!unavailable) return fn();
      if (CI) assert.fail(`package test cannot run: ${unavailable}`);
      t.skip(unavailable);
    });

  test('ships dist/ with declarations, the CLI, the sample data and the README; nothing else', () => {
    process.stderr.write(
      `package test: pack ${Math.round(packMs)} ms, install ${Math.round(installMs)} ms, ${packFiles.length} files\n`,
    );
    for (const f of [
      'package.json',
      'README.md',
      'bin/jit.js',
      'data/seed-sample-durations.json',
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/server.js',
      'dist/server.d.ts',
      'dist/cli/main.js',
      'dist/strategies/seed/forecast-task.mjs',
      'dist/dashboard/public/index.html',
    ]) {
      assert.ok(packFiles.includes(f), `${f} is not in the tarball`);
    }
    const stray = packFiles.filter(
      (f) =>
        !/^(dist|bin)\//.test(f) &&
        !['package.json', 'README.md', 'LICENSE', 'data/seed-sample-durations.json'].includes(f),
    );
    assert.deepEqual(stray, [], 'files outside dist/, bin/ and the runtime data');
    assert.deepEqual(
      packFiles.filter(
        (f) => /\.(test|conformance)\.|(^|\/)src\/|\.tsx?$/.test(f) && !f.endsWith('.d.ts'),
      ),
      [],
      'sources or tests in the tarball',
    );
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    // --ignore-scripts above hides nothing of ours.
    for (const s of ['preinstall', 'install', 'postinstall']) {
      assert.equal(pkg.scripts?.[s], undefined, `the package must not need an ${s} script`);
    }
  });

  test('declarations import .js files, which the package has', () => {
    const dts: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.d.ts')) dts.push(join(dir, e.name));
      }
    };
    walk(join(installed, 'dist'));
    assert.ok(dts.length > 20, `only ${dts.length} declaration files`);
    for (const file of dts) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const spec = m[1] as string;
        assert.match(spec, /\.js$/, `${relative(installed, file)} imports ${spec}`);
        const target = join(file, '..', spec.replace(/\.js$/, '.d.ts'));
        assert.ok(existsSync(target), `${relative(installed, file)}: ${spec} has no declaration`);
      }
    }
  });

  test('installs neither @tensorflow/tfjs nor tsx', () => {
    assert.equal(existsSync(join(consumer, 'node_modules', '@tensorflow', 'tfjs')), false);
    assert.equal(existsSync(join(consumer, 'node_modules', 'tsx')), false);
    assert.equal(existsSync(join(installed, 'src')), false);
  });

  test('plain Node ESM: the client, and a broker and a worker through the programmatic API', () => {
    writeFileSync(
      join(consumer, 'esm.mjs'),
      `import { createTimeoutClient, EndpointTimeoutError } from 'justintimeout/client';
import * as root from 'justintimeout';
import { brokerConfig, startBroker, workerConfig, buildWorker, createStrategy, strategyNames,
  MissingDependencyError } from 'justintimeout/server';

const broker = await startBroker(brokerConfig({ port: 0, store: ':memory:' }), { logger: false });
const gettimeout = await (await fetch(broker.url + '/gettimeout?url=customer')).text();
const client = createTimeoutClient({ brokerUrl: broker.url, logger: null });
const ready = await client.ready();
client.close();
await broker.close();

const worker = buildWorker(workerConfig({ port: 0, register: false, source: 'seed-sample' }), { logger: false });
const computed = await worker.app.inject({ method: 'POST', url: '/v1/compute', payload: { endpoint: 'customer' } });
await worker.app.close();

let seed;
try { createStrategy('seed'); seed = 'built'; } catch (err) {
  seed = { missing: err instanceof MissingDependencyError, code: err.code, message: err.message };
}
console.log(JSON.stringify({
  gettimeout, ready, rootClient: root.createTimeoutClient === createTimeoutClient,
  timeoutError: typeof EndpointTimeoutError, strategies: strategyNames(),
  computed: { status: computed.statusCode, body: computed.json() }, seed,
}));
`,
    );
    const r = JSON.parse(ok(node(['esm.mjs']), 'esm.mjs')) as {
      gettimeout: string;
      ready: boolean;
      rootClient: boolean;
      timeoutError: string;
      strategies: string[];
      computed: { status: number; body: { timeoutMs: number; samples: number } };
      seed: { missing: boolean; code: string; message: string } | string;
    };
    assert.match(r.gettimeout, /^\d+$/);
    assert.equal(r.ready, true, 'the client read the broker');
    assert.equal(r.rootClient, true, '"justintimeout" is the client');
    assert.equal(r.timeoutError, 'function');
    assert.ok(r.strategies.includes('adaptive') && r.strategies.includes('seed'));
    assert.equal(r.computed.status, 200, JSON.stringify(r.computed.body));
    assert.ok(r.computed.body.timeoutMs > 0);
    assert.equal(r.computed.body.samples, 522, 'the sample data shipped with the package');
    // (e) strategy `seed` without tfjs: a typed error that says what to install.
    assert.deepEqual(r.seed, {
      missing: true,
      code: 'MISSING_DEPENDENCY',
      message:
        'strategy "seed" needs @tensorflow/tfjs, which is not installed: npm install @tensorflow/tfjs',
    });
  });

  test('CommonJS: require() of the client and of the API (require(esm), Node ≥ 20.19)', () => {
    writeFileSync(
      join(consumer, 'cjs.cjs'),
      `const { createTimeoutClient } = require('justintimeout/client');
const server = require('justintimeout/server');
const client = createTimeoutClient({ brokerUrl: 'http://127.0.0.1:9', logger: null });
client.close();
console.log(JSON.stringify({
  client: typeof createTimeoutClient, startBroker: typeof server.startBroker,
  timeout: typeof client.timeoutFor('customer'),
}));
`,
    );
    const r = node(['cjs.cjs']);
    // Some Node releases warn once that require(esm) is experimental; nothing else may be said.
    const said = r.stderr.replace(/^\(node:\d+\) ExperimentalWarning: .*require\(\).*\n/m, '');
    assert.equal(said.replace(/^\(Use `node --trace-warnings.*\n/m, ''), '', r.stderr);
    assert.deepEqual(JSON.parse(ok(r, 'cjs.cjs')), {
      client: 'function',
      startBroker: 'function',
      timeout: 'number',
    });
  });

  test('TypeScript, module/moduleResolution nodenext, strict, exactOptionalPropertyTypes', () => {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          noEmit: true,
          // Node's types, as any Node project has them (from this repository's install).
          typeRoots: [join(REPO, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['consumer.mts'],
      }),
    );
    writeFileSync(
      join(consumer, 'consumer.mts'),
      `import { createTimeoutClient, EndpointTimeoutError, type TimeoutClientOptions } from 'justintimeout/client';
import {
  brokerConfig, buildBroker, startBroker, registerStrategy, workerConfig, buildWorker, JitError,
  type Broker, type RunningBroker, type TimeoutStrategy, type StrategyInput, type LatencySource,
} from 'justintimeout/server';

const options: TimeoutClientOptions = { brokerUrl: 'http://127.0.0.1:5000', refreshMs: 1000 };
const client = createTimeoutClient(options);
const ms: number = client.timeoutFor('customer');
// @ts-expect-error refreshMs is a number: the declarations are typed, not any
createTimeoutClient({ brokerUrl: 'http://127.0.0.1:5000', refreshMs: '1000' });

// @ts-expect-error port is a number: the config types come through from zod, not as any
brokerConfig({ port: '5000' });

const double: TimeoutStrategy = {
  name: 'double-max',
  description: 'twice the slowest call of the window',
  compute: (input: StrategyInput) => ({ timeoutMs: 2 * Math.max(...Array.from(input.durationsMs)), method: 'max' }),
};
registerStrategy('double-max', () => double);

const source: LatencySource = {
  name: 'fixed',
  fetchWindow: async () => ({ durationsMs: [10, 20, 30], timestampsMs: undefined }),
  check: async () => {},
};
const worker = buildWorker(workerConfig({ port: 0, register: false, strategy: 'double-max' }), { source });
const broker: Broker = buildBroker(brokerConfig({ store: ':memory:' }), { logger: false });
const running: Promise<RunningBroker> = startBroker(brokerConfig({ port: 0 }));
const status: number = new JitError('INTERNAL', 'x').statusCode;
export { ms, worker, broker, running, status, EndpointTimeoutError };
`,
    );
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], {
      cwd: consumer,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
  });

  test('the jit command runs from the package: --help, and a clear message for seed without tfjs', () => {
    const bin = join(consumer, 'node_modules', '.bin', 'jit');
    const started = performance.now();
    const help = spawnSync(bin, ['--help'], { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
    const helpMs = performance.now() - started;
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: jit/);
    process.stderr.write(`package test: installed \`jit --help\` took ${Math.round(helpMs)} ms\n`);

    const seed = spawnSync(bin, ['worker', '--strategy', 'seed', '--port', '0', '--no-register'], {
      cwd: consumer,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(seed.signal, null, `still running after 60 s:\n${seed.stderr}`);
    assert.equal(seed.status, 2, seed.stderr);
    assert.match(seed.stderr, /npm install @tensorflow\/tfjs/);
    assert.doesNotMatch(seed.stderr, /\n\s+at /, 'no stack trace');
  });
});

describe('in this repository', () => {
  it('importing the client or the programmatic API loads neither tfjs nor a training thread', () => {
    const probe = `
      await import(${JSON.stringify(join(REPO, 'src/client/index.ts'))});
      const api = await import(${JSON.stringify(join(REPO, 'src/server.ts'))});
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@tensorflow'));
      console.log(JSON.stringify({ loaded, names: api.strategyNames().length }));
    `;
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', probe],
      { cwd: REPO, encoding: 'utf8' },
    );
    const r = JSON.parse(out) as { loaded: string[]; names: number };
    assert.deepEqual(r.loaded, []);
    assert.ok(r.names >= 5);
  });
});

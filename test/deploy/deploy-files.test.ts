// The Dockerfile, docker-compose.yml and deploy/kubernetes checked against the CLI and the code, so
// that they cannot drift apart: commands, flags, variables, ports, probes, mounts, tokens, files.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROFILES } from '../../examples/span-generator/spans.ts';
import { brokerConfig } from '../../src/broker/config.ts';
import { startBroker, type RunningBroker } from '../../src/broker/run.ts';
import { workerConfig } from '../../src/worker/config.ts';
import { startWorker, type RunningWorker } from '../../src/worker/run.ts';
import { freePort } from '../helpers/influxd.ts';
import {
  REPO_ROOT,
  composeDefaults,
  defaultPortOf,
  dockerignore,
  envVarsOf,
  exists,
  imageModel,
  jitCommandNames,
  kubernetesContainers,
  loadCompose,
  loadKubernetes,
  longFlagsOf,
  mountedFiles,
  parseDockerfile,
  podTemplateOf,
  portEnvOf,
  repoFile,
  type ContainerModel,
  type K8sObject,
} from './manifests.ts';

const dockerfile = parseDockerfile(repoFile('Dockerfile'));
const finalStage = dockerfile.stages.at(-1);
assert.ok(finalStage, 'the Dockerfile has a stage');
const image = imageModel(finalStage);
const ignored = dockerignore(repoFile('.dockerignore'));
const compose = loadCompose();
const k8sObjects = loadKubernetes();
const k8s = kubernetesContainers(k8sObjects);
const pkg = JSON.parse(repoFile('package.json')) as {
  type?: string;
  engines?: { node?: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const kustomization = k8sObjects.find((o) => o.file.endsWith('kustomization.yaml'))
  ?.object as unknown as { resources: string[]; images?: { name: string }[] };
/** Image names that mean "the image built from ./Dockerfile". */
const OUR_IMAGES = new Set([
  'justintimeout:local',
  ...(kustomization.images ?? []).map((i) => i.name),
]);
const ours = [...compose.containers, ...k8s].filter((c) => OUR_IMAGES.has(c.image));
const TOKEN_OPTIONS = ['worker', 'admin', 'read'];

function valueOf(c: ContainerModel, name: string): string | undefined {
  const e = c.env[name];
  return e && 'value' in e ? e.value : undefined;
}

/** argv as the container runtime builds it: an entrypoint override drops the image's CMD. */
function argvOf(c: ContainerModel): { entrypoint: string[]; command: string[] } {
  return {
    entrypoint: c.entrypoint ?? image.entrypoint,
    command: c.command ?? (c.entrypoint ? [] : image.cmd),
  };
}

/** The jit subcommand and its arguments, when the container runs the image's entrypoint. */
function jitArgsOf(c: ContainerModel): string[] | undefined {
  const { entrypoint, command } = argvOf(c);
  return JSON.stringify(entrypoint) === JSON.stringify(image.entrypoint) ? command : undefined;
}

/** Every effective environment variable: the image's ENV, then the container's. */
function effectiveEnv(c: ContainerModel): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...image.env };
  for (const k of Object.keys(c.env)) out[k] = valueOf(c, k);
  return out;
}

/** The port a jit container listens on. */
function listenPortOf(c: ContainerModel, command: string): number {
  const env = portEnvOf(command);
  const v = env ? effectiveEnv(c)[env] : undefined;
  return v === undefined ? defaultPortOf(command) : Number(v);
}

/** An absolute path in the image → the file of the build context it comes from. */
function contextPathOf(containerPath: string): string | undefined {
  for (const copy of image.copies) {
    if (copy.from) continue;
    const dest = posix.resolve(image.workdir, copy.dest);
    for (const src of copy.sources) {
      const isDir = exists(src) && statSync(join(REPO_ROOT, src)).isDirectory();
      const target =
        copy.sources.length > 1 || dest.endsWith('/') || copy.dest.endsWith('/')
          ? posix.join(dest, posix.basename(src))
          : dest;
      if (containerPath === target) return src;
      if (isDir && containerPath.startsWith(`${target}/`)) {
        return posix.join(src, containerPath.slice(target.length + 1));
      }
    }
  }
  return undefined;
}

/**
 * A file under dist/ is made by the stage that runs scripts/build.mjs (tsc, same layout as src/)
 * and copied into the image from it: the source it is compiled or copied from must be in that
 * stage's context.
 */
function assertBuilt(distPath: string, where: string): void {
  const builder = dockerfile.stages.find((st) =>
    st.instructions.some((i) => i.op === 'RUN' && /scripts\/build\.mjs/.test(i.rest)),
  );
  assert.ok(builder?.name, `${where}: no named stage runs scripts/build.mjs`);
  assert.ok(
    image.copies.some(
      (c) =>
        c.from === builder.name &&
        c.sources.includes(posix.join(imageModel(builder).workdir, 'dist')),
    ),
    `${where}: the image does not copy dist/ from stage ${builder.name}`,
  );
  const rel = distPath.slice('dist/'.length);
  if (rel === 'source-stamp.json') return; // written by the build itself
  const candidates = [`src/${rel.replace(/\.js$/, '.ts')}`, `src/${rel}`];
  const source = candidates.find(exists);
  assert.ok(source, `${where}: ${distPath} is built from none of ${candidates.join(', ')}`);
  assert.ok(!ignored(source), `${where}: ${source} is excluded by .dockerignore`);
}

function assertInImage(containerPath: string, where: string): void {
  const distPrefix = posix.join(image.workdir, 'dist/');
  if (containerPath.startsWith(distPrefix)) {
    assertBuilt(`dist/${containerPath.slice(distPrefix.length)}`, where);
    return;
  }
  const src = contextPathOf(containerPath);
  assert.ok(src, `${where}: ${containerPath} is not copied into the image by the Dockerfile`);
  assert.ok(exists(src), `${where}: ${containerPath} comes from ${src}, which does not exist`);
  assert.ok(!ignored(src), `${where}: ${src} is excluded by .dockerignore`);
}

describe('the CLI has what the deploy files rely on', () => {
  it('broker: --store and the token options (issue 5), each with its JIT_ variable', () => {
    const flags = longFlagsOf('broker');
    const env = envVarsOf('broker');
    assert.ok(flags.has('--store') && env.has('JIT_STORE'), 'jit broker --store / JIT_STORE');
    for (const t of TOKEN_OPTIONS) {
      const v = `JIT_${t.toUpperCase()}_TOKEN`;
      assert.ok(flags.has(`--${t}-token`) && env.has(v), `jit broker --${t}-token / ${v}`);
      assert.ok(
        flags.has(`--${t}-token-file`) && env.has(`${v}_FILE`),
        `jit broker --${t}-token-file / ${v}_FILE`,
      );
    }
  });

  it('worker: --worker-token (and --worker-token-file)', () => {
    const flags = longFlagsOf('worker');
    const env = envVarsOf('worker');
    assert.ok(flags.has('--worker-token') && env.has('JIT_WORKER_TOKEN'));
    assert.ok(flags.has('--worker-token-file') && env.has('JIT_WORKER_TOKEN_FILE'));
  });
});

describe('Dockerfile', () => {
  it('is multi-stage: production dependencies installed in a stage of their own', () => {
    assert.ok(dockerfile.stages.length >= 2, 'at least two stages');
    const deps = dockerfile.stages.find((s) =>
      s.instructions.some((i) => i.op === 'RUN' && /npm ci\b.*--omit=dev/.test(i.rest)),
    );
    assert.ok(deps?.name, 'a named stage runs `npm ci --omit=dev`');
    assert.notEqual(deps, finalStage);
    const fromDeps = image.copies.filter((c) => c.from === deps.name);
    assert.deepEqual(
      fromDeps.map((c) => c.sources),
      [['/app/node_modules']],
    );
    // The only other packages in the image: tsx for the span generator, in a stage of its own.
    const others = image.copies.filter((c) => c.from && c.from !== deps.name);
    for (const c of others.filter((o) => o.dest.includes('node_modules'))) {
      assert.equal(c.from, 'tsx', `node_modules copied from stage ${c.from}`);
    }
    for (const s of dockerfile.stages) {
      for (const i of s.instructions) {
        assert.ok(
          !(i.op === 'RUN' && /npm (i|install|ci)\b/.test(i.rest) && !/--omit=dev/.test(i.rest)),
          `no dev dependencies installed: ${i.rest}`,
        );
      }
    }
  });

  it('runs on Node 20 as the package requires', () => {
    for (const s of dockerfile.stages) assert.match(s.from, /^node:20\b/);
    assert.match(pkg.engines?.node ?? '', />=\s*20/);
  });

  it('runs as a non-root user', () => {
    assert.ok(image.user, 'USER is set in the final stage');
    assert.ok(!['root', '0', '0:0'].includes(image.user), `USER ${image.user}`);
  });

  it('copies only files that exist and are not excluded by .dockerignore', () => {
    for (const copy of image.copies) {
      if (copy.from) continue;
      for (const src of copy.sources) {
        assert.ok(exists(src), `COPY ${src}: no such file`);
        assert.ok(!ignored(src), `COPY ${src}: excluded by .dockerignore`);
      }
    }
    // What the runtime needs: the CLI, its sources, the sample data, the package type (ESM).
    for (const path of ['bin/jit.js', 'src/cli/main.ts', 'data/seed-sample-durations.json']) {
      assertInImage(posix.join(image.workdir, path), 'runtime');
    }
    assertInImage(posix.join(image.workdir, 'package.json'), 'runtime');
    assert.equal(pkg.type, 'module');
    assert.ok(ignored('node_modules') && ignored('.git'), 'node_modules and .git stay out');
    assert.ok(ignored('src/client/timeout-client.test.ts'), 'tests stay out');
  });

  it('ENTRYPOINT is the entrypoint script, which runs bin/jit.js; CMD is a jit command', () => {
    const script = image.entrypoint.find((a) => a.endsWith('.sh'));
    assert.ok(script, `ENTRYPOINT ${JSON.stringify(image.entrypoint)}`);
    assertInImage(script, 'ENTRYPOINT');
    const text = repoFile(contextPathOf(script) as string);
    assert.match(text, /exec node "\$jit" "\$@"/);
    assert.match(text, /jit="\$here\/\.\.\/\.\.\/bin\/jit\.js"/);
    assert.equal(
      posix.join(posix.dirname(contextPathOf(script) as string), '../../bin/jit.js'),
      'bin/jit.js',
    );
    assert.ok(jitCommandNames().includes(image.cmd[0] as string), `CMD ${image.cmd.join(' ')}`);
  });

  it('HEALTHCHECK runs the health-check script of the image with node (no curl in node images)', () => {
    assert.ok(image.healthcheck, 'HEALTHCHECK CMD [...]');
    assert.equal(image.healthcheck[0], 'node');
    assertInImage(image.healthcheck[1] as string, 'HEALTHCHECK');
  });

  it('EXPOSEs the broker and worker ports', () => {
    assert.deepEqual(
      image.expose.sort(),
      [defaultPortOf('broker'), defaultPortOf('worker')].sort(),
    );
  });

  it('ENV names are variables of the CLI; servers listen on all container interfaces', () => {
    const all = new Set(jitCommandNames().flatMap((c) => [...envVarsOf(c)]));
    for (const [k, v] of Object.entries(image.env)) {
      if (k === 'NODE_ENV') continue;
      assert.ok(all.has(k), `ENV ${k} is read by no jit command`);
      if (k.endsWith('_HOST')) assert.equal(v, '0.0.0.0', k);
    }
    assert.ok(all.has('JIT_BROKER_HOST') && all.has('JIT_WORKER_HOST'));
  });

  /** The code the image runs: its sources, the CLI, the span generator, the health check. */
  function runtimeFiles(): string[] {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(join(REPO_ROOT, dir))) {
        const path = `${dir}/${name}`;
        if (statSync(join(REPO_ROOT, path)).isDirectory()) walk(path);
        else if (/\.(ts|js|mjs)$/.test(name) && !/\.(test|conformance)\.ts$/.test(name)) {
          files.push(path);
        }
      }
    };
    ['src', 'bin', 'examples/span-generator', 'deploy/docker'].forEach(walk);
    return files;
  }

  /** Files whose imports of dev-only packages are dynamic, with a fallback when they are missing. */
  const OPTIONAL_AT_RUN_TIME = new Set(['src/cli/demo-traffic.ts']);

  it('every package the image runs is a production dependency', () => {
    for (const f of OPTIONAL_AT_RUN_TIME) {
      const text = readFileSync(join(REPO_ROOT, f), 'utf8');
      // Only type imports at the top; the packages themselves are loaded with import().
      assert.doesNotMatch(
        text,
        /^import (?!type )[^;]*from '@opentelemetry\//m,
        `${f}: static import`,
      );
      assert.match(text, /ERR_MODULE_NOT_FOUND/, `${f}: no fallback for a missing package`);
    }
    const builtins = new Set(builtinModules);
    const missing: string[] = [];
    for (const f of runtimeFiles()) {
      const text = readFileSync(join(REPO_ROOT, f), 'utf8');
      const specs = [
        ...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"./][^'"]*)['"]/g),
        // require('x'), require.resolve('x'), createRequire(…).resolve('x')
        ...text.matchAll(
          /(?:\brequire|\brequire\.resolve|\)\.resolve)\(\s*['"]([^'"./][^'"]*)['"]/g,
        ),
      ].map((m) => m[1] as string);
      for (const spec of specs) {
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : spec.split('/')[0];
        if (name === 'justintimeout') continue;
        // An optional peer (tfjs) is loaded only after a check that names the missing package.
        if (name && pkg.peerDependenciesMeta?.[name]?.optional) continue;
        // tsx: bin/jit.js imports it only when dist/ is stale (never in the image, whose dist/ is
        // built from its src/); the span generator runs through it (the tsx stage, checked below).
        if (name === 'tsx') continue;
        // The demo's OpenTelemetry SDK: imported at run time only by the demo's traffic, which
        // falls back to the synthetic source where it is missing (as in the image); the file
        // must say so.
        if (name?.startsWith('@opentelemetry/') && OPTIONAL_AT_RUN_TIME.has(f)) continue;
        if (!(name && name in pkg.dependencies)) missing.push(`${f}: ${spec}`);
      }
    }
    assert.deepEqual(missing, [], 'imported by runtime code but not in "dependencies"');
    assert.ok(!('tsx' in pkg.dependencies), 'the package ships dist/: tsx is a dev dependency');
    const tsxStage = dockerfile.stages.find((s) => s.name === 'tsx');
    assert.ok(
      tsxStage?.instructions.some((i) => i.op === 'RUN' && /npm install\b.*"tsx@/.test(i.rest)),
      'a stage named tsx installs tsx',
    );
    assert.ok(
      image.copies.some((c) => c.from === 'tsx' && c.sources.includes('/tsx/node_modules')),
      'the image copies tsx from its stage',
    );
  });

  it('every file the image’s code imports or reads next to itself is in the image', () => {
    let checked = 0;
    for (const f of runtimeFiles()) {
      const text = readFileSync(join(REPO_ROOT, f), 'utf8');
      const specs = [
        ...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g),
        ...text.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url/g),
      ].map((m) => m[1] as string);
      for (const spec of specs) {
        const target = posix.normalize(posix.join(posix.dirname(f), spec));
        assertInImage(posix.join(image.workdir, target), `${f} → ${spec}`);
        checked++;
      }
    }
    assert.ok(checked > 50, `${checked} relative imports`);
  });
});

describe('docker-compose.yml', () => {
  const services = compose.doc.services as Record<string, Record<string, unknown>>;
  const byName = (n: string) => compose.containers.find((c) => c.name === n) as ContainerModel;
  const jitServices = compose.containers.filter((c) => OUR_IMAGES.has(c.image));

  it('has InfluxDB 1.8, a broker, workers and a span generator, built from ./Dockerfile', () => {
    assert.equal(byName('influxdb').image, 'influxdb:1.8');
    assert.deepEqual(jitServices.map((c) => c.name).sort(), ['broker', 'span-generator', 'worker']);
    for (const c of jitServices) {
      assert.deepEqual((c.raw.build as { context: string }).context, '.', c.name);
    }
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys((s.depends_on as Record<string, unknown>) ?? {})) {
        assert.ok(dep in services, `${name} depends on unknown service ${dep}`);
      }
    }
  });

  it('workers scale with --scale worker=N: no fixed name, host port or hostname; 2 by default', () => {
    const w = services.worker as Record<string, unknown>;
    for (const k of ['container_name', 'ports', 'hostname']) assert.ok(!(k in w), `worker.${k}`);
    assert.equal((w.deploy as { replicas: number }).replicas, 2);
    // Each worker advertises its own container hostname (deploy/docker/entrypoint.sh).
    assert.equal(valueOf(byName('worker'), 'JIT_ADVERTISE_URL'), undefined);
  });

  it('the broker is published on the host loopback only, on the port it listens on', () => {
    const b = byName('broker');
    assert.deepEqual(b.published, [`127.0.0.1:5000:${listenPortOf(b, 'broker')}`]);
  });

  it('workers reach the broker and InfluxDB by service name, on their ports', () => {
    const w = byName('worker');
    const broker = new URL(valueOf(w, 'JIT_BROKER_URL') ?? '');
    assert.equal(broker.hostname, 'broker');
    assert.equal(Number(broker.port), listenPortOf(byName('broker'), 'broker'));
    for (const [c, v] of [
      [w, 'JIT_INFLUX_URL'],
      [byName('span-generator'), 'SPANGEN_INFLUX_URL'],
    ] as const) {
      const u = new URL(valueOf(c, v) ?? '');
      assert.equal(u.hostname, 'influxdb', v);
      assert.equal(u.port, '8086', v);
    }
    const db = valueOf(byName('influxdb'), 'INFLUXDB_DB');
    assert.equal(valueOf(w, 'JIT_INFLUX_DB'), db);
    assert.equal(valueOf(byName('span-generator'), 'SPANGEN_DB'), db);
    assert.equal(valueOf(w, 'JIT_SOURCE'), 'influxdb');
  });

  it('broker and workers share the worker token', () => {
    const b = valueOf(byName('broker'), 'JIT_WORKER_TOKEN');
    assert.ok(b, 'the broker has a worker token');
    assert.equal(valueOf(byName('worker'), 'JIT_WORKER_TOKEN'), b);
    assert.match(
      String((services.broker?.environment as Record<string, unknown>).JIT_WORKER_TOKEN),
      /^\$\{JIT_WORKER_TOKEN:-/,
      'overridable from the environment',
    );
  });

  it('the endpoint list is mounted, and the span generator writes spans for each endpoint', () => {
    const b = byName('broker');
    const path = valueOf(b, 'JIT_ENDPOINTS');
    const mount = b.mounts.find((m) => m.path === path);
    assert.ok(mount && 'bind' in mount.source, `${path} is a bind mount`);
    const names = repoFile(mount.source.bind)
      .split('\n')
      .map((l) => l.replace(/#.*/, '').split('|')[0]?.trim())
      .filter((l): l is string => !!l);
    assert.ok(names.length > 0);
    for (const n of names) {
      assert.ok(
        PROFILES.some((p) => p.url(0.5).includes(n)),
        `no generated span has an http.url containing "${n}"`,
      );
    }
  });

  it('the broker store is on a named volume', () => {
    const b = byName('broker');
    const store = valueOf(b, 'JIT_STORE') ?? image.env.JIT_STORE ?? '';
    const mount = b.mounts.find((m) => store.startsWith(`${m.path}/`));
    assert.ok(mount && 'volume' in mount.source, `${store} is on a volume`);
    assert.ok(mount.source.volume in (compose.doc.volumes as Record<string, unknown>));
  });

  it('health checks run the image’s script; the span generator has none', () => {
    for (const name of ['broker', 'worker']) {
      const hc = byName(name).healthcheck ?? [];
      assert.equal(hc[0], 'CMD');
      assert.equal(hc[1], 'node');
      assertInImage(hc[2] as string, `${name} healthcheck`);
    }
    assert.deepEqual(services['span-generator']?.healthcheck, { disable: true });
    assert.match((byName('influxdb').healthcheck ?? []).join(' '), /\/ping/);
  });

  it('the span generator runs a script of the image with tsx and reads the variables it is given', () => {
    const g = byName('span-generator');
    const { entrypoint, command } = argvOf(g);
    assert.deepEqual(entrypoint.slice(0, 3), ['node', '--import', 'tsx']);
    assert.deepEqual(command, []);
    const script = entrypoint[3] as string;
    assertInImage(posix.resolve(image.workdir, script), 'span generator');
    const source = repoFile(script);
    for (const name of Object.keys(g.env)) {
      assert.match(name, /^SPANGEN_/);
      assert.ok(source.includes(name), `${script} does not read ${name}`);
    }
  });
});

describe('deploy/kubernetes', () => {
  const objects = k8sObjects.map((o) => o.object);
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const roleOf = (c: ContainerModel) => jitArgsOf(c)?.[0] ?? '';
  const broker = k8s.find((c) => roleOf(c) === 'broker') as ContainerModel;
  const worker = k8s.find((c) => roleOf(c) === 'worker') as ContainerModel;
  const secretExample = find('Secret', 'jit-tokens');

  it('kustomization.yaml lists every manifest, and only the Secret example stays out', () => {
    const files = readdirSync(join(REPO_ROOT, 'deploy/kubernetes')).filter((f) =>
      /\.ya?ml$/.test(f),
    );
    const expected = files.filter((f) => f !== 'kustomization.yaml' && !f.includes('.example.'));
    assert.deepEqual([...kustomization.resources].sort(), expected.sort());
    assert.ok(secretExample, 'secret.example.yaml defines the Secret jit-tokens');
  });

  it('runs a broker and workers from the image (and the export example, a CronJob)', () => {
    assert.deepEqual(
      k8s
        .filter((c) => OUR_IMAGES.has(c.image))
        .map(roleOf)
        .sort(),
      ['broker', 'export', 'worker'],
    );
    assert.ok(broker && worker);
  });

  it('each probe is an HTTP GET on the port the process listens on', () => {
    for (const c of [broker, worker]) {
      const port = listenPortOf(c, roleOf(c));
      assert.deepEqual(
        c.ports.map((p) => p.port),
        [port],
        `${c.where}: containerPort`,
      );
      const kinds = Object.fromEntries(c.probes.map((p) => [p.kind, p.path]));
      assert.deepEqual(kinds, {
        startupProbe: '/healthz',
        livenessProbe: '/healthz',
        readinessProbe: '/readyz',
      });
      for (const p of c.probes) {
        const n =
          typeof p.port === 'number' ? p.port : c.ports.find((x) => x.name === p.port)?.port;
        assert.equal(n, port, `${c.where} ${p.kind} port`);
      }
    }
  });

  it('tokens come from the Secret, as files the *_TOKEN_FILE variables point at', () => {
    assert.ok(secretExample);
    const keys = Object.keys({ ...secretExample.data, ...secretExample.stringData });
    const seen = new Set<string>();
    for (const c of [broker, worker]) {
      const files = mountedFiles(c, k8sObjects);
      for (const [name, src] of Object.entries(c.env)) {
        if ('secret' in src) {
          assert.equal(src.secret.name, 'jit-tokens');
          assert.ok(keys.includes(src.secret.key), `${c.where}: ${name} key ${src.secret.key}`);
        }
        if (!/^JIT_\w+_TOKEN_FILE$/.test(name)) continue;
        const file = files.get(valueOf(c, name) ?? '');
        assert.ok(file?.secret === 'jit-tokens', `${c.where}: ${name} is a file of the Secret`);
        assert.ok(keys.includes(file.key), `${c.where}: ${name}: key ${file.key}`);
        seen.add(`${roleOf(c)}:${name}`);
        if (name === 'JIT_WORKER_TOKEN_FILE') assert.equal(file.key, 'worker-token');
      }
      for (const m of c.mounts) {
        if ('secret' in m.source) assert.ok(m.readOnly, `${c.where}: secret mounted read-only`);
      }
    }
    for (const t of TOKEN_OPTIONS) assert.ok(seen.has(`broker:JIT_${t.toUpperCase()}_TOKEN_FILE`));
    assert.ok(seen.has('worker:JIT_WORKER_TOKEN_FILE'));
    // Workers get the worker token only.
    const workerFiles = [...mountedFiles(worker, k8sObjects).values()].map((f) => f.key);
    assert.deepEqual(workerFiles, ['worker-token']);
  });

  it('the endpoint list is a file of the ConfigMap; the store is on the PersistentVolumeClaim', () => {
    const files = mountedFiles(broker, k8sObjects);
    const list = files.get(valueOf(broker, 'JIT_ENDPOINTS') ?? '');
    assert.ok(list?.configMap, 'JIT_ENDPOINTS is a ConfigMap file');
    assert.ok(find('ConfigMap', list.configMap)?.data?.[list.key]?.trim(), 'with endpoint names');
    const store = valueOf(broker, 'JIT_STORE') ?? '';
    const mount = broker.mounts.find((m) => store.startsWith(`${m.path}/`));
    assert.ok(mount && 'pvc' in mount.source, `${store} is on a PersistentVolumeClaim`);
    const pvc = find('PersistentVolumeClaim', mount.source.pvc);
    assert.ok(pvc, `PersistentVolumeClaim ${mount.source.pvc}`);
    const d = find('Deployment', broker.name) as K8sObject;
    assert.equal(d.spec?.replicas, 1, 'one broker per store');
    assert.deepEqual(d.spec?.strategy, { type: 'Recreate' });
  });

  it('workers reach the broker by its Service name and advertise their Pod IP', () => {
    const url = new URL(valueOf(worker, 'JIT_BROKER_URL') ?? '');
    const service = find('Service', url.hostname);
    assert.ok(service, `a Service named ${url.hostname}`);
    const spec = service.spec as {
      selector: Record<string, string>;
      ports: { port: number; targetPort: number | string }[];
    };
    const sp = spec.ports.find((p) => p.port === Number(url.port));
    assert.ok(sp, `Service port ${url.port}`);
    const target =
      typeof sp.targetPort === 'number'
        ? sp.targetPort
        : broker.ports.find((p) => p.name === sp.targetPort)?.port;
    assert.equal(target, listenPortOf(broker, 'broker'));
    for (const [k, v] of Object.entries(spec.selector)) assert.equal(broker.labels[k], v, k);
    assert.deepEqual(worker.env.POD_IP, { field: 'status.podIP' });
    assert.equal(
      valueOf(worker, 'JIT_ADVERTISE_URL'),
      `http://$(POD_IP):${listenPortOf(worker, 'worker')}`,
    );
    const names = Object.keys(worker.env);
    assert.ok(names.indexOf('POD_IP') < names.indexOf('JIT_ADVERTISE_URL'), 'defined before use');
  });

  it('a HorizontalPodAutoscaler scales the worker Deployment, on CPU requests', () => {
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
    assert.ok(hpa);
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    assert.equal(target.kind, 'Deployment');
    assert.equal(target.name, worker.name);
    const d = find('Deployment', worker.name) as K8sObject;
    assert.equal(d.spec?.replicas, undefined, 'the HPA owns the replica count');
    const resources = worker.raw.resources as { requests?: { cpu?: string } };
    assert.ok(resources.requests?.cpu, 'CPU utilisation needs a CPU request');
  });

  it('Pods run as non-root with a read-only root file system and a writable /tmp', () => {
    for (const d of deployments) {
      const pod = podTemplateOf(d);
      assert.equal(pod.spec.securityContext?.runAsNonRoot, true, d.metadata.name);
      assert.notEqual(pod.spec.securityContext?.runAsUser, 0, d.metadata.name);
      for (const c of pod.spec.containers) {
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
        assert.ok(
          c.volumeMounts?.some((m) => m.mountPath === '/tmp'),
          `${c.name}: /tmp`,
        );
      }
    }
  });

  it('the NetworkPolicy lets the broker, and only it, call the workers on their port', () => {
    const np = objects.find((o) => o.kind === 'NetworkPolicy');
    assert.ok(np);
    const spec = np.spec as {
      podSelector: { matchLabels: Record<string, string> };
      ingress: {
        from: { podSelector: { matchLabels: Record<string, string> } }[];
        ports: { port: number }[];
      }[];
    };
    for (const [k, v] of Object.entries(spec.podSelector.matchLabels))
      assert.equal(worker.labels[k], v);
    const rule = spec.ingress[0];
    for (const [k, v] of Object.entries(rule?.from[0]?.podSelector.matchLabels ?? {})) {
      assert.equal(broker.labels[k], v);
    }
    assert.deepEqual(
      rule?.ports.map((p) => p.port),
      [listenPortOf(worker, 'worker')],
    );
  });

  it(
    'kubectl kustomize builds it',
    {
      skip:
        spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0 &&
        'no kubectl',
    },
    () => {
      const r = spawnSync('kubectl', ['kustomize', join(REPO_ROOT, 'deploy/kubernetes')], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /image: registry\.example\.com\/justintimeout:0\.1\.0/);
    },
  );
});

describe('every container of the image (compose and Kubernetes)', () => {
  it('runs a jit command with flags the command has', () => {
    for (const c of ours) {
      const args = jitArgsOf(c);
      if (args === undefined) continue; // the span generator: checked above
      const command = args[0] as string;
      assert.ok(jitCommandNames().includes(command), `${c.where}: jit ${command}`);
      const flags = longFlagsOf(command);
      for (const a of args.slice(1)) {
        if (a.startsWith('--')) assert.ok(flags.has(a.split('=')[0] as string), `${c.where}: ${a}`);
      }
    }
  });

  it('sets only variables its jit command reads (POD_IP: the downward API, used in another)', () => {
    for (const c of ours) {
      const args = jitArgsOf(c);
      if (args === undefined) continue;
      const known = envVarsOf(args[0] as string);
      for (const [name, src] of Object.entries(c.env)) {
        if (name.startsWith('JIT_')) {
          assert.ok(known.has(name), `${c.where}: jit ${args[0]} reads no ${name}`);
          continue;
        }
        assert.ok('field' in src, `${c.where}: ${name} is neither a jit variable nor a field`);
        assert.ok(
          Object.keys(c.env).some((k) => valueOf(c, k)?.includes(`$(${name})`)),
          `${c.where}: ${name} is used by no variable`,
        );
      }
    }
  });

  it('listens on all interfaces of the container (the commands that listen)', () => {
    for (const c of ours) {
      const command = jitArgsOf(c)?.[0];
      if (!command || !longFlagsOf(command).has('--host')) continue;
      assert.equal(effectiveEnv(c)[`JIT_${command.toUpperCase()}_HOST`], '0.0.0.0', c.where);
    }
  });

  it('refers only to tokens that exist (values are never inlined in Kubernetes)', () => {
    for (const c of k8s) {
      for (const [name, src] of Object.entries(c.env)) {
        if (/TOKEN$/.test(name)) assert.ok(!('value' in src), `${c.where}: ${name} inlined`);
      }
    }
    for (const c of compose.containers) {
      for (const name of Object.keys(c.env)) {
        if (!/TOKEN$/.test(name)) continue;
        const raw = (c.raw.environment as Record<string, string>)[name];
        assert.match(String(raw), /^\$\{\w+:-/, `${c.where}: ${name} from the environment`);
        assert.notEqual(composeDefaults(String(raw)), '');
      }
    }
  });
});

describe('the paths the files use answer on a running broker and worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-deploy-'));
  let broker: RunningBroker;
  let worker: RunningWorker;
  before(async () => {
    const endpointsFile = join(dir, 'endpoints.config');
    writeFileSync(endpointsFile, 'customer\n');
    broker = await startBroker(brokerConfig({ port: 0, endpointsFile, cyclePauseMs: 600_000 }), {
      logger: false,
    });
    worker = await startWorker(
      workerConfig({ port: 0, register: false, source: 'seed-sample', brokerUrl: broker.url }),
      { logger: false },
    );
  });
  after(async () => {
    await worker?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every probe path exists; /healthz answers 200 {"status":"ok"}', async () => {
    const paths = new Set<string>();
    for (const c of k8s) {
      const role = jitArgsOf(c)?.[0];
      for (const p of c.probes) paths.add(`${role} ${p.path}`);
    }
    assert.ok(paths.size >= 4);
    for (const entry of paths) {
      const [role, path] = entry.split(' ') as [string, string];
      const base = role === 'broker' ? broker.url : worker.url;
      const res = await fetch(`${base}${path}`);
      const body = (await res.json()) as { status?: string };
      assert.ok(
        res.status === 200 || (path === '/readyz' && res.status === 503),
        `${entry}: ${res.status}`,
      );
      if (path === '/healthz') assert.equal(body.status, 'ok', entry);
    }
  });

  async function healthcheck(
    env: Record<string, string>,
  ): Promise<{ code: number | null; out: string }> {
    const script = contextPathOf(image.healthcheck?.[1] ?? '') as string;
    const { NODE_TEST_CONTEXT: _, ...base } = process.env;
    const child = spawn(process.execPath, [join(REPO_ROOT, script)], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    return { code, out };
  }

  it('the HEALTHCHECK script passes on a broker and a worker, and fails where nothing answers', async () => {
    for (const url of [broker.url, worker.url]) {
      const r = await healthcheck({ JIT_HEALTH_PORT: new URL(url).port });
      assert.equal(r.code, 0, r.out);
    }
    const r = await healthcheck({ JIT_HEALTH_PORT: String(await freePort()) });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /unhealthy/);
  });
});

describe('deploy/docker/entrypoint.sh', () => {
  const entrypoint = contextPathOf(image.entrypoint.at(-1) ?? '') as string;

  /** Runs the entrypoint like the image does, until a worker logs its advertised URL. */
  async function advertised(args: string[], env: Record<string, string>): Promise<string> {
    const base: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('JIT_') && k !== 'NODE_TEST_CONTEXT') base[k] = v;
    }
    const child = spawn('/bin/sh', [join(REPO_ROOT, entrypoint), ...args], {
      cwd: REPO_ROOT,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      return await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no advertised URL: ${out}`)), 20_000);
        child.stdout.on('data', (d: string) => {
          out += d;
          const m = /advertised as ([^\s)"]+)/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`exited ${code}: ${out}`));
        });
      });
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    }
  }

  it('a worker advertises http://<container hostname>:<port> by default', async () => {
    const url = await advertised(['worker', '--no-register', '--port', '0'], {
      HOSTNAME: 'jit-test-host',
    });
    assert.equal(url, 'http://jit-test-host:0');
    const viaEnv = await advertised(['worker', '--no-register'], {
      HOSTNAME: 'jit-test-host',
      JIT_WORKER_PORT: '0',
    });
    assert.equal(viaEnv, 'http://jit-test-host:0');
  });

  it('an explicit --advertise-url or JIT_ADVERTISE_URL wins', async () => {
    assert.equal(
      await advertised(
        ['worker', '--no-register', '--port', '0', '--advertise-url', 'http://10.1.2.3:7000'],
        { HOSTNAME: 'jit-test-host' },
      ),
      'http://10.1.2.3:7000',
    );
    assert.equal(
      await advertised(['worker', '--no-register', '--port', '0'], {
        HOSTNAME: 'jit-test-host',
        JIT_ADVERTISE_URL: 'http://10.9.8.7:7000',
      }),
      'http://10.9.8.7:7000',
    );
  });

  it('passes any other command through to jit', () => {
    const r = spawnSync('/bin/sh', [join(REPO_ROOT, entrypoint), 'broker', '--help'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--endpoints <file>/);
  });
});

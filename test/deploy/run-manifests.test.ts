// docker-compose.yml and deploy/kubernetes run without Docker or a cluster: each container of the
// image is started as a process, through the image's entrypoint, with the environment the files
// give it. Only addresses change: service names become 127.0.0.1, ports become free ports, mount
// paths become temporary directories holding the ConfigMap, Secret and bind-mounted files.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createTimeoutClient } from 'justintimeout/client';
import { freePort, influxdSkip, startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  REPO_ROOT,
  imageModel,
  kubernetesContainers,
  loadCompose,
  loadKubernetes,
  parseDockerfile,
  repoFile,
  type ContainerModel,
  type K8sObject,
} from './manifests.ts';

const dockerfile = parseDockerfile(repoFile('Dockerfile'));
const image = imageModel(
  dockerfile.stages.at(-1) as NonNullable<ReturnType<typeof dockerfile.stages.at>>,
);
const ENTRYPOINT = join(REPO_ROOT, 'deploy/docker/entrypoint.sh');
const HEALTHCHECK = join(REPO_ROOT, 'deploy/docker/healthcheck.mjs');

const dir = mkdtempSync(join(tmpdir(), 'jit-run-manifests-'));
const children = new Set<ChildProcess>();
after(async () => {
  await Promise.all([...children].map((c) => stop(c)));
  rmSync(dir, { recursive: true, force: true });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

interface Addresses {
  /** Host names of the files (service names) → 127.0.0.1. */
  hosts: string[];
  /** Container ports → local ports, for this container. */
  ports: Record<number, number>;
}

interface Running {
  child: ChildProcess;
  env: Record<string, string>;
  logs(): string;
}

let instance = 0;

/**
 * Starts container `c` as a process with its environment (the image's ENV, then the container's),
 * rewritten to local addresses; `files` maps a mount path to the files it holds.
 */
function run(
  c: ContainerModel,
  addresses: Addresses,
  files: Record<string, Record<string, string>>,
  secrets: Record<string, Record<string, string>>,
): Running {
  const root = join(dir, `${c.platform}-${c.name}-${instance++}`);
  /** A path in the container → the same path under `root`. */
  const local = (path: string) => join(root, path);
  for (const m of c.mounts) mkdirSync(local(m.path), { recursive: true });
  for (const [mountPath, content] of Object.entries(files)) {
    for (const [name, text] of Object.entries(content)) {
      writeFileSync(join(local(mountPath), name), text);
    }
  }
  for (const m of c.mounts) {
    if ('bind' in m.source) {
      mkdirSync(join(local(m.path), '..'), { recursive: true });
      rmSync(local(m.path), { recursive: true, force: true });
      copyFileSync(join(REPO_ROOT, m.source.bind), local(m.path));
    }
  }

  const rewrite = (value: string): string => {
    let v = value === '0.0.0.0' ? '127.0.0.1' : value;
    if (/^https?:\/\//.test(v)) {
      const u = new URL(v);
      if (addresses.hosts.includes(u.hostname)) u.hostname = '127.0.0.1';
      const p = addresses.ports[Number(u.port || 80)];
      if (p) u.port = String(p);
      v = u.href.replace(/\/$/, '');
    } else if (/^\d+$/.test(v) && addresses.ports[Number(v)]) {
      v = String(addresses.ports[Number(v)]);
    } else if (c.mounts.some((m) => v.startsWith(`${m.path}/`) || v === m.path)) {
      v = local(v);
    }
    return v;
  };

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(image.env)) env[k] = rewrite(v);
  for (const [k, src] of Object.entries(c.env)) {
    if ('value' in src) {
      // Kubernetes expands $(VAR) of variables defined before.
      const expanded = src.value.replace(/\$\((\w+)\)/g, (m, name: string) => env[name] ?? m);
      env[k] = rewrite(expanded);
    } else if ('field' in src) {
      assert.equal(src.field, 'status.podIP');
      env[k] = '127.0.0.1';
    } else if ('secret' in src) {
      env[k] = secrets[src.secret.name]?.[src.secret.key] ?? '';
    }
  }
  // Docker sets HOSTNAME to the container's name, which the other containers resolve.
  env.HOSTNAME = '127.0.0.1';

  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('JIT_') && !k.startsWith('SPANGEN_')) base[k] = v;
  }
  delete base.NODE_TEST_CONTEXT;
  // The OTLP receiver's 4318 (the CLI's default) is one port for every broker on this machine:
  // the brokers of these files run one after another and must not wait for the last to let go
  // (the files' own environment still wins).
  base.JIT_OTLP_PORT = '0';

  const entrypoint = c.entrypoint ?? image.entrypoint;
  const command = c.command ?? (c.entrypoint ? [] : image.cmd);
  let argv: string[];
  if (JSON.stringify(entrypoint) === JSON.stringify(image.entrypoint)) {
    argv = ['/bin/sh', ENTRYPOINT, ...command];
  } else {
    assert.equal(entrypoint[0], 'node', `${c.where}: ${entrypoint.join(' ')}`);
    argv = [process.execPath, ...entrypoint.slice(1), ...command];
  }
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: REPO_ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { child, env, logs: () => out.slice(-4000) };
}

async function healthy(url: string, running: Running): Promise<void> {
  await waitFor(
    async () => {
      if (running.child.exitCode !== null) throw new Error(`exited: ${running.logs()}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    30_000,
    { message: `${url}/healthz`, intervalMs: 100 },
  );
}

/** The HEALTHCHECK script with a container's environment. */
async function healthcheck(env: Record<string, string>): Promise<number | null> {
  const child = spawn(process.execPath, [HEALTHCHECK], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'ignore',
  });
  return new Promise((r) => child.once('exit', r));
}

interface Worker {
  id: string;
  url: string;
}

async function workersOf(brokerUrl: string, token?: string): Promise<Worker[]> {
  const res = await fetch(`${brokerUrl}/v1/workers`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { workers: Worker[] }).workers;
}

// ---- compose ---------------------------------------------------------------------------------

const compose = loadCompose();
const service = (name: string) => compose.containers.find((c) => c.name === name) as ContainerModel;
const composeHosts = compose.containers.map((c) => c.name);
const workerReplicas = (service('worker').raw.deploy as { replicas: number }).replicas;

async function startComposeJit(
  influxPort: number,
): Promise<{ brokerUrl: string; workerUrls: string[] }> {
  const brokerPort = await freePort();
  const broker = run(
    service('broker'),
    { hosts: composeHosts, ports: { 5000: brokerPort } },
    {},
    {},
  );
  const brokerUrl = `http://127.0.0.1:${brokerPort}`;
  await healthy(brokerUrl, broker);
  assert.equal(await healthcheck(broker.env), 0, 'the broker container is healthy');
  const workerUrls: string[] = [];
  for (let i = 0; i < workerReplicas; i++) {
    const port = await freePort();
    const w = run(
      service('worker'),
      { hosts: composeHosts, ports: { 5000: brokerPort, 7000: port, 8086: influxPort } },
      {},
      {},
    );
    workerUrls.push(`http://127.0.0.1:${port}`);
    await healthy(`http://127.0.0.1:${port}`, w);
    assert.equal(await healthcheck(w.env), 0, 'the worker container is healthy');
  }
  return { brokerUrl, workerUrls };
}

describe('docker-compose.yml, run as processes', () => {
  it(
    'the broker and both workers start; the workers register once their database exists (worker token, advertised URL)',
    { skip: influxdSkip() },
    async () => {
      // Workers do not register while their source cannot answer (here: no database yet).
      const influx = await startInfluxd();
      try {
        const { brokerUrl, workerUrls } = await startComposeJit(Number(new URL(influx.url).port));
        const notReady = await fetch(`${workerUrls[0]}/readyz`);
        assert.equal(notReady.status, 503, 'no database yet');
        assert.match(((await notReady.json()) as { error: string }).error, /no database "tracing"/);
        assert.deepEqual(await workersOf(brokerUrl), []);
        await influx.createDatabase('tracing'); // JIT_INFLUX_DB in docker-compose.yml
        const registered = await waitFor(
          async () => {
            const ws = await workersOf(brokerUrl);
            return ws.length === workerReplicas && ws;
          },
          20_000,
          { message: `${workerReplicas} workers registered` },
        );
        assert.deepEqual(registered.map((w) => w.url).sort(), workerUrls.sort());
        assert.equal((await fetch(`${brokerUrl}/readyz`)).status, 200);
        assert.equal((await fetch(`${workerUrls[0]}/readyz`)).status, 200);
      } finally {
        await influx.stop();
      }
    },
  );

  it(
    'with InfluxDB and the span generator, every endpoint has a real value within a minute',
    { skip: influxdSkip(), timeout: 180_000 },
    async () => {
      let influx: Influxd | undefined;
      try {
        influx = await startInfluxd();
        const influxPort = Number(new URL(influx.url).port);
        const generator = run(
          service('span-generator'),
          { hosts: composeHosts, ports: { 8086: influxPort } },
          {},
          {},
        );
        await waitFor(() => generator.logs().includes('span generator: wrote'), 60_000, {
          message: `the backfill (${generator.logs()})`,
        });
        const started = Date.now();
        const { brokerUrl } = await startComposeJit(influxPort);
        const client = createTimeoutClient({ brokerUrl, refreshMs: 500, logger: null });
        try {
          const names = ['customer', 'driver', 'route'];
          await waitFor(() => names.every((n) => client.status().known[n] !== undefined), 60_000, {
            message: 'values for every endpoint',
            intervalMs: 250,
          });
          assert.ok(Date.now() - started < 60_000);
          const res = await fetch(`${brokerUrl}/v1/endpoints`);
          const body = (await res.json()) as {
            endpoints: { endpoint: string; status: string; samples: number; timeoutMs: number }[];
          };
          for (const e of body.endpoints) {
            assert.equal(e.status, 'fresh', e.endpoint);
            assert.ok(e.samples > 1000, `${e.endpoint}: ${e.samples} spans`);
          }
          // The customer endpoint's median is 280 ms: its timeout is well above it.
          assert.ok(client.timeoutFor('customer') > 400, String(client.timeoutFor('customer')));
          assert.ok(client.timeoutFor('driver') > 18);
        } finally {
          client.close();
        }
      } finally {
        await influx?.stop();
      }
    },
  );
});

// ---- Kubernetes ------------------------------------------------------------------------------

describe('deploy/kubernetes, run as processes', () => {
  const objects = loadKubernetes();
  const containers = kubernetesContainers(objects);
  const find = (kind: string, name: string) =>
    objects.find((o) => o.object.kind === kind && o.object.metadata.name === name)?.object;
  const secrets: Record<string, Record<string, string>> = {};
  for (const { object } of objects) {
    if (object.kind === 'Secret') secrets[object.metadata.name] = { ...object.stringData };
  }
  const hosts = objects
    .filter((o) => o.object.kind === 'Service')
    .map((o) => o.object.metadata.name)
    .concat(['influxdb.monitoring']);

  /** The files of every ConfigMap and Secret volume of a container, by mount path. */
  function filesOf(c: ContainerModel): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const m of c.mounts) {
      const s = m.source;
      if (!('configMap' in s) && !('secret' in s)) continue;
      const obj = (
        'configMap' in s ? find('ConfigMap', s.configMap) : find('Secret', s.secret)
      ) as K8sObject;
      const data = { ...obj.data, ...obj.stringData };
      const items = s.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
      out[m.path] = Object.fromEntries(items.map((it) => [it.path, data[it.key] ?? '']));
    }
    return out;
  }

  // Containers that run the image's entrypoint (not, e.g., the export example's kubectl steps).
  const role = (r: string) =>
    containers.find(
      (c) => c.entrypoint === undefined && (c.command ?? image.cmd)[0] === r,
    ) as ContainerModel;

  it(
    'the broker reads its tokens from the Secret; the worker registers with its token',
    { skip: influxdSkip() },
    async () => {
      const brokerPort = await freePort();
      const workerPort = await freePort();
      // A worker registers once its source answers: an InfluxDB with the configured database.
      const influx = await startInfluxd();
      after(() => influx.stop());
      await influx.createDatabase('tracing'); // JIT_INFLUX_DB in deploy/kubernetes/worker.yaml
      const influxPort = Number(new URL(influx.url).port);
      const broker = run(
        role('broker'),
        { hosts, ports: { 5000: brokerPort } },
        filesOf(role('broker')),
        secrets,
      );
      const brokerUrl = `http://127.0.0.1:${brokerPort}`;
      await healthy(brokerUrl, broker);
      // Probes carry no token: they must answer without one.
      assert.equal((await fetch(`${brokerUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${brokerUrl}/readyz`)).status, 200);
      const read = secrets['jit-tokens']?.['read-token'] as string;
      assert.ok(read);
      assert.equal(
        (await fetch(`${brokerUrl}/v1/endpoints`)).status,
        401,
        'reads need the read token',
      );
      const worker = run(
        role('worker'),
        { hosts, ports: { 5000: brokerPort, 7000: workerPort, 8086: influxPort } },
        filesOf(role('worker')),
        secrets,
      );
      await healthy(`http://127.0.0.1:${workerPort}`, worker);
      const ws = await waitFor(
        async () => {
          const list = await workersOf(brokerUrl, read);
          return list.length === 1 && list;
        },
        20_000,
        { message: 'the worker registered' },
      );
      assert.equal(ws[0]?.url, `http://127.0.0.1:${workerPort}`, 'advertised Pod IP and port');
      // A worker without the token is refused.
      const refused = await fetch(`${brokerUrl}/v1/workers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'http://127.0.0.1:9' }),
      });
      assert.equal(refused.status, 401);
      // The SDK with the read token gets the endpoint list.
      const client = createTimeoutClient({ brokerUrl, token: read, logger: null });
      try {
        assert.equal(await client.ready(), true);
      } finally {
        client.close();
      }
    },
  );
});

// The PostgreSQL variants (docker-compose.postgres.yml, deploy/kubernetes/postgres) checked against the CLI and the base manifests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { isPostgresUrl } from '../../src/store/pg-store.ts';
import { composeDefaults, envVarsOf, exists, loadKubernetes, repoFile } from './manifests.ts';

type Json = Record<string, unknown>;

/** Applies a JSON 6902 patch (the ops the overlay uses: test, add, replace, remove). */
function applyPatch(doc: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  const out = structuredClone(doc);
  for (const { op, path, value } of ops) {
    const keys = path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop() as string;
    let parent = out as Json | unknown[];
    for (const k of keys) {
      const next = Array.isArray(parent) ? parent[Number(k)] : parent[k];
      assert.ok(next !== undefined && next !== null, `${op} ${path}: ${k} does not exist`);
      parent = next as Json | unknown[];
    }
    const current = Array.isArray(parent) ? parent[Number(last)] : parent[last];
    if (op === 'test') assert.deepEqual(current, value, `test ${path}`);
    else if (op === 'replace') {
      assert.ok(current !== undefined, `replace ${path}: nothing there`);
      if (Array.isArray(parent)) parent[Number(last)] = value;
      else parent[last] = value;
    } else if (op === 'add') {
      if (Array.isArray(parent)) {
        if (last === '-') parent.push(value);
        else parent.splice(Number(last), 0, value);
      } else parent[last] = value;
    } else if (op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else assert.fail(`unsupported op ${op}`);
  }
  return out;
}

describe('docker-compose.postgres.yml', () => {
  const doc = parse(repoFile('docker-compose.postgres.yml'), { merge: true }) as {
    services: Record<string, Json>;
  };
  const broker = doc.services.broker as Json & {
    environment: Record<string, string>;
    deploy?: { replicas?: number };
    ports?: string[];
    volumes?: string[];
    depends_on?: Record<string, unknown>;
  };

  it('runs two or more brokers on one PostgreSQL service of the file', () => {
    assert.ok((broker.deploy?.replicas ?? 1) >= 2);
    const store = composeDefaults(broker.environment.JIT_STORE ?? '');
    assert.ok(isPostgresUrl(store), store);
    const host = new URL(store).hostname;
    assert.ok(doc.services[host], `JIT_STORE names service ${host}`);
    assert.ok(broker.depends_on?.[host], 'brokers wait for the database');
    // No SQLite volume: the store is the database.
    assert.ok(!(broker.volumes ?? []).some((v) => v.includes(':/data')));
    // One host port per replica.
    const range = /:(\d+)-(\d+):/.exec(broker.ports?.[0] ?? '');
    assert.ok(range, 'a port range');
    assert.equal(Number(range[2]) - Number(range[1]) + 1, broker.deploy?.replicas);
  });

  it('sets only variables the commands read', () => {
    for (const [service, command] of [
      ['broker', 'broker'],
      ['worker', 'worker'],
    ] as const) {
      const env = Object.keys((doc.services[service] as { environment: Json }).environment);
      const known = envVarsOf(command);
      for (const k of env)
        assert.ok(known.has(k), `${service}: ${k} is not read by jit ${command}`);
    }
    // Workers reach the brokers by the service name, which resolves to every replica.
    const worker = doc.services.worker as { environment: Record<string, string> };
    assert.equal(new URL(worker.environment.JIT_BROKER_URL ?? '').hostname, 'broker');
  });
});

describe('deploy/kubernetes/postgres overlay', () => {
  const dir = 'deploy/kubernetes/postgres';
  const kustomization = parse(repoFile(`${dir}/kustomization.yaml`)) as {
    resources: string[];
    patches: { target?: { kind: string; name: string }; path?: string; patch?: string }[];
  };
  const base = loadKubernetes();

  it('lists files that exist, the base among them', () => {
    assert.ok(kustomization.resources.includes('../'));
    for (const r of kustomization.resources.filter((r) => r !== '../'))
      assert.ok(exists(`${dir}/${r}`), r);
    for (const p of kustomization.patches)
      if (p.path) assert.ok(exists(`${dir}/${p.path}`), p.path);
  });

  it('patched onto the base: two brokers, rolling, the store URL from a Secret, no SQLite volume', () => {
    const deployment = base.find(
      (o) => o.object.kind === 'Deployment' && o.object.metadata.name === 'jit-broker',
    )?.object;
    assert.ok(deployment);
    const patch = kustomization.patches.find((p) => p.target?.name === 'jit-broker');
    assert.ok(patch?.path);
    const ops = parse(repoFile(`${dir}/${patch.path}`)) as {
      op: string;
      path: string;
      value?: unknown;
    }[];
    const out = applyPatch(deployment, ops) as {
      spec: {
        replicas: number;
        strategy: { type: string };
        template: {
          spec: {
            containers: { env: { name: string; value?: string; valueFrom?: Json }[] }[];
            volumes: Json[];
          };
        };
      };
    };
    assert.ok(out.spec.replicas >= 2);
    assert.equal(out.spec.strategy.type, 'RollingUpdate');
    const env = out.spec.template.spec.containers[0]?.env ?? [];
    const store = env.filter((e) => e.name === 'JIT_STORE');
    assert.equal(store.length, 1);
    assert.deepEqual(store[0]?.valueFrom, { secretKeyRef: { name: 'jit-postgres', key: 'url' } });
    const known = envVarsOf('broker');
    for (const e of env)
      assert.ok(known.has(e.name) || known.has(e.name.replace(/_FILE$/, '')), e.name);
    assert.ok(!out.spec.template.spec.volumes.some((v) => 'persistentVolumeClaim' in v));
    // The PVC the base declares is deleted by the overlay.
    const pvcPatch = kustomization.patches.find((p) => p.patch?.includes('$patch: delete'));
    assert.ok(pvcPatch?.patch);
    const deleted = parse(pvcPatch.patch) as { kind: string; metadata: { name: string } };
    assert.ok(
      base.some(
        (o) => o.object.kind === deleted.kind && o.object.metadata.name === deleted.metadata.name,
      ),
    );
  });

  it('the disruption budget and the example Secret match the base', () => {
    const docs = parseAllDocuments(repoFile(`${dir}/pdb.yaml`)).map((d) => d.toJS() as Json);
    const pdb = docs[0] as { kind: string; spec: { selector: { matchLabels: Json } } };
    assert.equal(pdb.kind, 'PodDisruptionBudget');
    const deployment = base.find(
      (o) => o.object.kind === 'Deployment' && o.object.metadata.name === 'jit-broker',
    )?.object as unknown as { spec: { selector: { matchLabels: Json } } };
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    const secret = parse(repoFile(`${dir}/secret.example.yaml`)) as {
      metadata: { name: string };
      stringData: { url: string };
    };
    assert.equal(secret.metadata.name, 'jit-postgres');
    assert.ok(isPostgresUrl(secret.stringData.url));
    assert.ok(!kustomization.resources.includes('secret.example.yaml'), 'never applied');
  });
});

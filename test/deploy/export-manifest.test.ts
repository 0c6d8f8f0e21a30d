// deploy/kubernetes validated with the Kubernetes models, and the export example (CronJob, ServiceAccount, Role) checked and its
// `jit export` step run against a real broker that asks for the read token of secret.example.yaml.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { buildBroker, type Broker } from '../../src/broker/app.ts';
import { brokerConfig } from '../../src/broker/config.ts';
import { parseMapping } from '../../src/export/mapping.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { info } from '../../src/store/timeout-store.conformance.ts';
import { HTTP_ROUTES } from '../helpers/export-fixtures.ts';
import { killAll, runJit } from '../helpers/processes.ts';
import {
  kubernetesContainers,
  loadKubernetes,
  podTemplateOf,
  type K8sObject,
} from './manifests.ts';

type Validating = new (data: never) => { validate(): void };
const MODELS: Record<string, Validating> = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1 CronJob': CronJob,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1 Role': Role,
  'rbac.authorization.k8s.io/v1 RoleBinding': RoleBinding,
  'v1 ConfigMap': ConfigMap,
  'v1 Namespace': Namespace,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim,
  'v1 Secret': Secret,
  'v1 Service': Service,
  'v1 ServiceAccount': ServiceAccount,
};

const objects = loadKubernetes();
const example = objects.filter((o) => o.file.endsWith('export.example.yaml')).map((o) => o.object);
const find = (kind: string) => example.find((o) => o.kind === kind) as K8sObject;

describe('deploy/kubernetes against the Kubernetes schemas (kubernetes-models)', () => {
  it('every object of every manifest validates', () => {
    for (const { file, object } of objects) {
      if (object.kind === 'Kustomization') continue;
      const Model = MODELS[`${object.apiVersion} ${object.kind}`];
      assert.ok(Model, `${file}: no model for ${object.apiVersion} ${object.kind}`);
      assert.doesNotThrow(
        () => new Model(object as never).validate(),
        `${file} ${object.kind} ${object.metadata.name}`,
      );
    }
  });
});

describe('deploy/kubernetes/export.example.yaml', () => {
  const cron = find('CronJob');
  const role = find('Role') as K8sObject & {
    rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  };
  const binding = find('RoleBinding') as K8sObject & {
    roleRef: { kind: string; name: string };
    subjects: { kind: string; name: string; namespace: string }[];
  };
  const account = find('ServiceAccount');
  const containers = kubernetesContainers(objects.filter((o) => o.object === cron));

  it('the Role allows HTTPRoutes only, and patching them only (get/list read the live rules)', () => {
    assert.deepEqual(role.rules, [
      {
        apiGroups: ['gateway.networking.k8s.io'],
        resources: ['httproutes'],
        verbs: ['get', 'list', 'patch'],
      },
    ]);
  });

  it('the RoleBinding gives that Role, in the routes’ namespace, to the CronJob’s ServiceAccount', () => {
    assert.equal(binding.metadata.namespace, role.metadata.namespace);
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata.name,
    });
    assert.deepEqual(binding.subjects, [
      {
        kind: 'ServiceAccount',
        name: account.metadata.name,
        namespace: account.metadata.namespace,
      },
    ]);
    const pod = podTemplateOf(cron) as unknown as { spec: { serviceAccountName: string } };
    assert.equal(pod.spec.serviceAccountName, account.metadata.name);
    assert.equal(cron.metadata.namespace, account.metadata.namespace);
  });

  it('reads the routes of that namespace, exports, and applies server-side as field manager justintimeout', () => {
    const [read, exp, apply] = containers;
    assert.ok(read && exp && apply);
    assert.match(
      read.entrypoint?.join(' ') ?? '',
      new RegExp(
        `kubectl get httproutes -n ${role.metadata.namespace} -o json > /work/routes.json`,
      ),
    );
    assert.deepEqual(exp.command?.slice(0, 3), ['export', '--format', 'gateway-api']);
    assert.deepEqual(apply.entrypoint, [
      'kubectl',
      'apply',
      '--server-side',
      '--field-manager=justintimeout',
      '--force-conflicts',
      '-f',
      exp.command?.[exp.command.indexOf('--out') + 1],
    ]);
    const mapping = parseMapping(
      JSON.parse(find('ConfigMap').data?.['mapping.json'] ?? '') as unknown,
    );
    for (const e of Object.values(mapping.endpoints))
      assert.equal(e.gatewayApi?.namespace, role.metadata.namespace);
  });

  describe('its export step, run against a broker that asks for the read token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-export-k8s-'));
    let broker: Broker;
    let brokerUrl = '';
    const secret = objects.find((o) => o.object.kind === 'Secret')?.object as K8sObject;
    const readToken = secret.stringData?.['read-token'] ?? '';

    before(async () => {
      const store = new MemoryStore();
      const names = ['checkout GET /api/cart/{id}', 'checkout POST /api/orders'];
      store.syncEndpoints(names.map((name) => ({ name, options: {} })));
      names.forEach((n, i) =>
        store.recordSuccess(n, 200 * (i + 1), info(200 * (i + 1)), new Date()),
      );
      const list = join(dir, 'endpoints.config');
      writeFileSync(list, `${names.join('\n')}\n`);
      broker = buildBroker(
        brokerConfig({ port: 0, endpointsFile: list, cyclePauseMs: 3_600_000, readToken }),
        {
          store,
          logger: false,
        },
      );
      await broker.app.listen({ host: '127.0.0.1', port: 0 });
      brokerUrl = `http://127.0.0.1:${(broker.app.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await killAll();
      await broker.app.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('writes HTTPRoutes that validate, with the mapped rules’ timeouts', async () => {
      const exp = containers[1];
      assert.ok(exp);
      // The Pod's files, under a temporary directory: the work volume, the mapping, the token.
      const local = (p: string) =>
        p.replace(
          /^\/(work|etc\/jit|var\/run\/secrets\/jit)\//,
          (_m, d: string) => `${join(dir, d)}/`,
        );
      for (const d of ['work', 'etc/jit', 'var/run/secrets/jit'])
        mkdirSync(join(dir, d), { recursive: true });
      writeFileSync(join(dir, 'work/routes.json'), JSON.stringify(HTTP_ROUTES)); // what `kubectl get` wrote
      writeFileSync(
        join(dir, 'etc/jit/mapping.json'),
        find('ConfigMap').data?.['mapping.json'] ?? '',
      );
      writeFileSync(join(dir, 'var/run/secrets/jit/read-token'), readToken);
      const env = Object.fromEntries(
        Object.entries(exp.env).map(([k, v]) => [k, 'value' in v ? local(v.value) : '']),
      );
      env.JIT_BROKER_URL = brokerUrl; // http://jit-broker:5000 in the cluster
      const r = await runJit((exp.command ?? []).map(local), { env });
      assert.equal(r.code, 0, r.stderr);
      const out = local(exp.command?.[exp.command.indexOf('--out') + 1] ?? '');
      const docs = parseAllDocuments(readFileSync(out, 'utf8')).map(
        (d) => d.toJS() as Record<string, unknown>,
      );
      assert.equal(docs.length, 1);
      for (const d of docs) new HTTPRoute(d as never).validate();
      const rules = (docs[0] as { spec: { rules: { timeouts?: Record<string, string> }[] } }).spec
        .rules;
      const res = await fetch(`${brokerUrl}/v1/endpoints`, {
        headers: { authorization: `Bearer ${readToken}` },
      });
      const [cart, orders] = (
        (await res.json()) as { endpoints: { timeoutMs: number }[] }
      ).endpoints.map((e) => e.timeoutMs);
      assert.deepEqual(rules[0]?.timeouts, { request: `${cart}ms`, backendRequest: `${cart}ms` });
      // rules[1] has retry.attempts 2 in the live route: request covers three tries.
      const ms = (n: number) =>
        n >= 1000 ? `${Math.floor(n / 1000)}s${n % 1000 ? `${n % 1000}ms` : ''}` : `${n}ms`;
      assert.deepEqual(rules[1]?.timeouts, {
        request: ms(3 * (orders ?? 0)),
        backendRequest: ms(orders ?? 0),
      });
    });
  });
});

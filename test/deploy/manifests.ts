// Reads the deployment files (Dockerfile, .dockerignore, docker-compose.yml, deploy/kubernetes) into
// one model of "containers" (command, environment, ports, probes, mounts) that tests check and run.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { parse, parseAllDocuments } from 'yaml';
import { demoCommand } from '../../src/cli/demo-command.ts';
import { buildCli } from '../../src/cli/main.ts';
import { REPO_ROOT } from '../helpers/processes.ts';

export { REPO_ROOT };

export function repoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

// ---- the CLI ---------------------------------------------------------------------------------

// With the real demo command (`jit` itself loads it only when it runs it), for its options.
const cli = buildCli(demoCommand());

export function jitCommand(name: string): Command | undefined {
  return cli.commands.find((c) => c.name() === name);
}

export function jitCommandNames(): string[] {
  return cli.commands.map((c) => c.name());
}

export function optionsOf(command: string): Option[] {
  return [...(jitCommand(command)?.options ?? [])] as Option[];
}

export function envVarsOf(command: string): Set<string> {
  return new Set(optionsOf(command).flatMap((o) => (o.envVar ? [o.envVar] : [])));
}

export function longFlagsOf(command: string): Set<string> {
  return new Set(optionsOf(command).flatMap((o) => (o.long ? [o.long] : [])));
}

/** The `--port` default of a command (5000 for the broker, 7000 for a worker). */
export function defaultPortOf(command: string): number {
  const o = optionsOf(command).find((x) => x.long === '--port');
  return Number(o?.defaultValue);
}

/** The variable that sets `--port` of a command. */
export function portEnvOf(command: string): string | undefined {
  return optionsOf(command).find((x) => x.long === '--port')?.envVar;
}

// ---- Dockerfile ------------------------------------------------------------------------------

export interface DockerInstruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  op: string;
  /** Flags such as --from=deps or --interval=15s. */
  flags: string[];
  /** The rest of the line after the flags. */
  rest: string;
  /** The exec form (JSON array), when the rest is one. */
  exec?: string[];
}

export interface DockerStage {
  from: string;
  name?: string;
  instructions: DockerInstruction[];
}

/** Parses a Dockerfile: continuation lines, comments, ARG defaults in FROM, flags, exec form. */
export function parseDockerfile(text: string): {
  args: Record<string, string>;
  stages: DockerStage[];
} {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push((current + line).trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());

  const args: Record<string, string> = {};
  const stages: DockerStage[] = [];
  for (const line of logical) {
    const m = /^(\S+)\s*(.*)$/s.exec(line);
    if (!m) continue;
    const op = (m[1] as string).toUpperCase();
    let rest = m[2] ?? '';
    const flags: string[] = [];
    for (;;) {
      const f = /^(--[\w-]+=\S+)\s+(.*)$/s.exec(rest);
      if (!f) break;
      flags.push(f[1] as string);
      rest = f[2] ?? '';
    }
    const instruction: DockerInstruction = { op, flags, rest };
    const execText = op === 'HEALTHCHECK' ? rest.replace(/^CMD\s+/, '') : rest;
    if (execText.startsWith('[')) instruction.exec = JSON.parse(execText) as string[];
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args[k as string] = v ?? '';
    }
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      const image = (f?.[1] ?? rest).replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
      stages.push({ from: image, ...(f?.[2] ? { name: f[2] } : {}), instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push(instruction);
  }
  return { args, stages };
}

/** `ENV A=1 B=2` (the key=value form) as a record. */
export function envOfInstruction(rest: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of rest.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) {
    out[m[1] as string] = m[3] ?? (m[2] as string);
  }
  return out;
}

/** The image's runtime contract: its working directory, ENV, ENTRYPOINT, CMD, ports, user. */
export interface ImageModel {
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  expose: number[];
  user: string | undefined;
  healthcheck: string[] | undefined;
  /** COPY instructions of the final stage: sources (in the context or a stage) → destination. */
  copies: { from?: string; sources: string[]; dest: string }[];
}

export function imageModel(stage: DockerStage): ImageModel {
  const m: ImageModel = {
    workdir: '/',
    env: {},
    entrypoint: [],
    cmd: [],
    expose: [],
    user: undefined,
    healthcheck: undefined,
    copies: [],
  };
  for (const i of stage.instructions) {
    if (i.op === 'WORKDIR') m.workdir = i.rest;
    if (i.op === 'ENV') Object.assign(m.env, envOfInstruction(i.rest));
    if (i.op === 'ENTRYPOINT') m.entrypoint = i.exec ?? ['/bin/sh', '-c', i.rest];
    if (i.op === 'CMD') m.cmd = i.exec ?? ['/bin/sh', '-c', i.rest];
    if (i.op === 'EXPOSE') m.expose.push(...i.rest.split(/\s+/).map((p) => Number.parseInt(p, 10)));
    if (i.op === 'USER') m.user = i.rest;
    if (i.op === 'HEALTHCHECK') m.healthcheck = i.exec;
    if (i.op === 'COPY') {
      const parts = i.exec ?? i.rest.split(/\s+/);
      const from = i.flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      m.copies.push({
        ...(from ? { from } : {}),
        sources: parts.slice(0, -1),
        dest: parts.at(-1) as string,
      });
    }
  }
  return m;
}

/** .dockerignore patterns → a predicate "is this context path excluded". */
export function dockerignore(text: string): (path: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => p.replace(/^\/+/, '').replace(/\/+$/, ''));
  const regexes = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('**/')
          .map((part) =>
            part
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
          )
          .join('(?:.*/)?')}(?:/.*)?$`,
      ),
  );
  return (path) => regexes.some((r) => r.test(path.replace(/^\.\//, '')));
}

// ---- containers (compose and Kubernetes) -----------------------------------------------------

export type EnvSource =
  | { value: string }
  | { secret: { name: string; key: string } }
  | { field: string }
  | { configMap: { name: string; key: string } };

export type MountSource =
  | { configMap: string; items?: { key: string; path: string }[] }
  | { secret: string; items?: { key: string; path: string }[] }
  | { pvc: string }
  | { emptyDir: true }
  | { bind: string }
  | { volume: string };

export interface ContainerModel {
  /** Where it is defined, for messages. */
  where: string;
  /** "compose" or "kubernetes". */
  platform: 'compose' | 'kubernetes';
  /** Compose service name, or Kubernetes Deployment name. */
  name: string;
  image: string;
  /** ENTRYPOINT override, if any. */
  entrypoint: string[] | undefined;
  /** CMD/args override, if any. */
  command: string[] | undefined;
  env: Record<string, EnvSource>;
  /** Container ports (Kubernetes containerPort, or the container side of compose `ports`). */
  ports: { port: number; name?: string }[];
  /** Compose `ports` as written. */
  published: string[];
  probes: { kind: string; path: string; port: number | string }[];
  mounts: { path: string; source: MountSource; readOnly: boolean }[];
  /** Compose healthcheck `test`. */
  healthcheck: string[] | undefined;
  /** Pod labels (Kubernetes). */
  labels: Record<string, string>;
  raw: Record<string, unknown>;
}

/** Compose's `${VAR:-default}` / `${VAR-default}` / `${VAR}` with the default (no variable set). */
export function composeDefaults(value: string): string {
  return value.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_m, _name: string, d?: string) => d ?? '');
}

export function loadCompose(): { doc: Record<string, unknown>; containers: ContainerModel[] } {
  const doc = parse(repoFile('docker-compose.yml'), { merge: true }) as Record<string, unknown>;
  const services = doc.services as Record<string, Record<string, unknown>>;
  const containers: ContainerModel[] = [];
  for (const [name, s] of Object.entries(services)) {
    const env: Record<string, EnvSource> = {};
    const rawEnv = s.environment;
    if (Array.isArray(rawEnv)) {
      for (const kv of rawEnv as string[]) {
        const [k, ...v] = kv.split('=');
        env[k as string] = { value: composeDefaults(v.join('=')) };
      }
    } else if (rawEnv && typeof rawEnv === 'object') {
      for (const [k, v] of Object.entries(rawEnv as Record<string, unknown>)) {
        env[k] = { value: composeDefaults(String(v)) };
      }
    }
    const published = ((s.ports as unknown[]) ?? []).map(String);
    const mounts = ((s.volumes as unknown[]) ?? []).map((v) => {
      const [src, path, mode] = String(v).split(':') as [string, string, string?];
      const source: MountSource =
        src.startsWith('.') || src.startsWith('/') ? { bind: src } : { volume: src };
      return { path, source, readOnly: mode === 'ro' };
    });
    const health = (s.healthcheck as { test?: unknown; disable?: boolean } | undefined)?.test;
    const asList = (x: unknown): string[] | undefined =>
      x === undefined
        ? undefined
        : Array.isArray(x)
          ? x.map((a) => String(a as string | number))
          : typeof x === 'string'
            ? x.split(/\s+/)
            : [];
    containers.push({
      where: `docker-compose.yml service "${name}"`,
      platform: 'compose',
      name,
      image: typeof s.image === 'string' ? s.image : '',
      entrypoint: asList(s.entrypoint),
      command: asList(s.command),
      env,
      ports: published.map((p) => ({ port: Number(p.split(':').at(-1)?.split('/')[0]) })),
      published,
      probes: [],
      mounts,
      healthcheck: asList(health),
      labels: {},
      raw: s,
    });
  }
  return { doc, containers };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [k: string]: unknown;
}

export const K8S_DIR = 'deploy/kubernetes';

/** Every document of every YAML file under deploy/kubernetes, with its file. */
export function loadKubernetes(): { file: string; object: K8sObject }[] {
  const out: { file: string; object: K8sObject }[] = [];
  for (const file of readdirSync(join(REPO_ROOT, K8S_DIR)).sort()) {
    if (!/\.ya?ml$/.test(file)) continue;
    const docs = parseAllDocuments(repoFile(join(K8S_DIR, file)));
    for (const d of Array.isArray(docs) ? docs : [docs]) {
      if (d.errors.length > 0) {
        throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      }
      const object = d.toJS() as K8sObject | null;
      if (object) out.push({ file: `${K8S_DIR}/${file}`, object });
    }
  }
  return out;
}

interface K8sContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string };
      configMapKeyRef?: { name: string; key: string };
      fieldRef?: { fieldPath: string };
    };
  }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  startupProbe?: { httpGet?: { path: string; port: number | string } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}

interface K8sVolume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: unknown;
}

/** The Pod template of a Deployment, StatefulSet or CronJob (its Job's template). */
export function podTemplateOf(o: K8sObject): {
  labels: Record<string, string>;
  spec: {
    containers: K8sContainer[];
    initContainers?: K8sContainer[];
    volumes?: K8sVolume[];
    securityContext?: Record<string, unknown>;
  };
} {
  type Template = { template: { metadata: { labels: Record<string, string> }; spec: never } };
  const t =
    o.kind === 'CronJob'
      ? (o.spec as { jobTemplate: { spec: Template } }).jobTemplate.spec.template
      : (o.spec as Template).template;
  return { labels: t.metadata.labels, spec: t.spec };
}

/** Kinds whose Pods run containers, for kubernetesContainers. */
export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'CronJob']);

export function kubernetesContainers(
  objects: { file: string; object: K8sObject }[],
): ContainerModel[] {
  const out: ContainerModel[] = [];
  for (const { file, object } of objects) {
    if (!WORKLOAD_KINDS.has(object.kind)) continue;
    const pod = podTemplateOf(object);
    const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      const env: Record<string, EnvSource> = {};
      for (const e of c.env ?? []) {
        if (e.value !== undefined) env[e.name] = { value: String(e.value) };
        else if (e.valueFrom?.secretKeyRef) env[e.name] = { secret: e.valueFrom.secretKeyRef };
        else if (e.valueFrom?.configMapKeyRef)
          env[e.name] = { configMap: e.valueFrom.configMapKeyRef };
        else if (e.valueFrom?.fieldRef) env[e.name] = { field: e.valueFrom.fieldRef.fieldPath };
      }
      const probes = (['startupProbe', 'livenessProbe', 'readinessProbe'] as const).flatMap((k) => {
        const g = c[k]?.httpGet;
        return g ? [{ kind: k, path: g.path, port: g.port }] : [];
      });
      const mounts = (c.volumeMounts ?? []).map((m) => {
        const v = volumes.get(m.name);
        let source: MountSource = { volume: m.name };
        if (v?.configMap)
          source = {
            configMap: v.configMap.name,
            ...(v.configMap.items ? { items: v.configMap.items } : {}),
          };
        else if (v?.secret)
          source = {
            secret: v.secret.secretName,
            ...(v.secret.items ? { items: v.secret.items } : {}),
          };
        else if (v?.persistentVolumeClaim) source = { pvc: v.persistentVolumeClaim.claimName };
        else if (v?.emptyDir !== undefined) source = { emptyDir: true };
        return { path: m.mountPath, source, readOnly: m.readOnly === true };
      });
      out.push({
        where: `${file} ${object.kind} "${object.metadata.name}" container "${c.name}"`,
        platform: 'kubernetes',
        name: object.metadata.name,
        image: c.image,
        entrypoint: c.command,
        command: c.args,
        env,
        ports: (c.ports ?? []).map((p) => ({
          port: p.containerPort,
          ...(p.name ? { name: p.name } : {}),
        })),
        published: [],
        probes,
        mounts,
        healthcheck: undefined,
        labels: pod.labels,
        raw: c as unknown as Record<string, unknown>,
      });
    }
  }
  return out;
}

/** The files that a mount at `mountPath` provides, by absolute path → where its content comes from. */
export function mountedFiles(
  c: ContainerModel,
  objects: { object: K8sObject }[],
): Map<string, { configMap?: string; secret?: string; key: string }> {
  const files = new Map<string, { configMap?: string; secret?: string; key: string }>();
  for (const m of c.mounts) {
    const s = m.source;
    if ('configMap' in s || 'secret' in s) {
      const kind = 'configMap' in s ? 'ConfigMap' : 'Secret';
      const name = 'configMap' in s ? s.configMap : s.secret;
      const obj = objects.find((o) => o.object.kind === kind && o.object.metadata.name === name);
      const keys = Object.keys({ ...(obj?.object.data ?? {}), ...(obj?.object.stringData ?? {}) });
      const items = s.items ?? keys.map((k) => ({ key: k, path: k }));
      for (const it of items) {
        files.set(`${m.path}/${it.path}`, {
          ...('configMap' in s ? { configMap: name } : { secret: name }),
          key: it.key,
        });
      }
    }
  }
  return files;
}

export function exists(path: string): boolean {
  return existsSync(join(REPO_ROOT, path));
}

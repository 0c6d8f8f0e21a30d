// The live Kubernetes objects the gateway-api and istio exports start from (`kubectl get … -o json`), and the patch documents they write.
import { readFileSync } from 'node:fs';
import { InvalidConfigError } from '../core/errors.ts';
import { toYaml } from './yaml.ts';

export type KubeObject = Record<string, unknown> & {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
  spec?: Record<string, unknown>;
};

/** The objects of one `kubectl get -o json` answer: a List's items, or the single object. */
export function objectsOf(doc: unknown): KubeObject[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return [];
  const o = doc as KubeObject & { items?: unknown };
  if (Array.isArray(o.items)) return o.items.flatMap(objectsOf);
  return [o];
}

/** Reads the --base files (JSON, as `kubectl get … -o json` writes them). */
export function readBase(files: readonly string[]): KubeObject[] {
  return files.flatMap((file) => {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code) throw err;
      throw new InvalidConfigError([
        `--base ${file}: not JSON (write it with kubectl get … -o json): ${(err as Error).message}`,
      ]);
    }
    return objectsOf(doc);
  });
}

/** The live object `kind` `namespace/name` of API group `group`, or a problem naming what is missing. */
export function findObject(
  base: readonly KubeObject[],
  group: string,
  kind: string,
  namespace: string,
  name: string,
): KubeObject {
  const found = base.find(
    (o) =>
      o.kind === kind &&
      typeof o.apiVersion === 'string' &&
      o.apiVersion.startsWith(`${group}/`) &&
      o.metadata?.name === name &&
      o.metadata.namespace === namespace,
  );
  if (!found) {
    throw new InvalidConfigError([
      `${kind} ${namespace}/${name} is not in --base (add it: kubectl get ${kind.toLowerCase()}s -n ${namespace} -o json)`,
    ]);
  }
  return found;
}

/** The index of a list entry given as an index or by its `name` field; -1 when there is none. */
export function entryIndex(list: readonly unknown[], ref: number | string): number {
  if (typeof ref === 'number') return ref < list.length ? ref : -1;
  return list.findIndex(
    (e) => typeof e === 'object' && e !== null && (e as { name?: unknown }).name === ref,
  );
}

/** Deep copy of JSON data. */
export function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Patch documents as multi-document YAML, each preceded by comments naming its endpoints. */
export function renderDocuments(
  header: string,
  docs: readonly { comments: string[]; object: Record<string, unknown> }[],
): string {
  const parts = [header];
  for (const d of docs) {
    parts.push(`---\n${d.comments.map((c) => `# ${c}\n`).join('')}${toYaml(d.object)}`);
  }
  return parts.join('');
}

// Istio: VirtualServices whose mapped http routes carry the served value as timeout and retries.perTryTimeout.
import { InvalidConfigError } from '../core/errors.ts';
import { protoDuration } from './durations.ts';
import { copy, entryIndex, findObject, renderDocuments } from './kubernetes-base.ts';
import { quotedForComment } from './safe.ts';
import { mappedFor, type ExportInput } from './types.ts';

const GROUP = 'networking.istio.io';

/**
 * As for Gateway API (gateway-api.ts): `spec.http` of the CRD carries no list type, and a list
 * without one is atomic under server-side apply, so the live routes from `--base` are written
 * back whole with the mapped routes' timeouts set. A route with `retries.attempts` > 0 gets
 * `retries.perTryTimeout` = the served value and `timeout` = (attempts + 1) × it (Istio's
 * `timeout` covers the retries); otherwise `timeout` = the served value.
 */
export function istioVirtualServices(
  input: ExportInput,
): { comments: string[]; object: Record<string, unknown> }[] {
  const services = new Map<
    string,
    {
      comments: string[];
      object: Record<string, unknown>;
      http: unknown[];
      used: Map<number, string>;
    }
  >();
  for (const { value, target } of mappedFor(input, 'istio')) {
    const key = `${target.namespace}/${target.name}`;
    let vs = services.get(key);
    if (!vs) {
      const live = findObject(input.base, GROUP, 'VirtualService', target.namespace, target.name);
      const http = live.spec?.http;
      if (!Array.isArray(http)) {
        throw new InvalidConfigError([`VirtualService ${key} in --base has no spec.http`]);
      }
      const copied = copy(http as unknown[]);
      vs = {
        comments: [],
        http: copied,
        used: new Map(),
        object: {
          apiVersion: live.apiVersion,
          kind: 'VirtualService',
          metadata: { name: target.name, namespace: target.namespace },
          spec: { http: copied },
        },
      };
      services.set(key, vs);
    }
    const i = entryIndex(vs.http, target.route);
    if (i < 0) {
      throw new InvalidConfigError([
        `mapping ${JSON.stringify(value.endpoint)}.istio.route: VirtualService ${key} has no http route ${JSON.stringify(target.route)}`,
      ]);
    }
    const other = vs.used.get(i);
    if (other !== undefined) {
      throw new InvalidConfigError([
        `mapping: endpoints ${JSON.stringify(other)} and ${JSON.stringify(value.endpoint)} both map to http[${i}] of VirtualService ${key}`,
      ]);
    }
    vs.used.set(i, value.endpoint);
    vs.comments.push(
      `http[${i}]: endpoint ${quotedForComment(value.endpoint)}, ${value.servedMs === null ? 'no value yet, left as it is' : `${value.servedMs} ms served`}`,
    );
    if (value.servedMs === null) continue;
    const route = vs.http[i] as Record<string, unknown>;
    const retries = route.retries as Record<string, unknown> | undefined;
    const attempts =
      typeof retries?.attempts === 'number' && retries.attempts > 0 ? retries.attempts : 0;
    route.timeout = protoDuration(value.servedMs * (attempts + 1));
    if (retries && attempts > 0)
      route.retries = { ...retries, perTryTimeout: protoDuration(value.servedMs) };
  }
  return [...services.values()].map(({ comments, object }) => ({ comments, object }));
}

export function renderIstio(input: ExportInput): string {
  return renderDocuments(
    '# Written by `jit export --format istio`.\n# kubectl apply --server-side --field-manager=justintimeout --force-conflicts -f <this file>\n',
    istioVirtualServices(input),
  );
}

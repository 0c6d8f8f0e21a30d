// Gateway API: HTTPRoutes whose mapped rules carry the served values as timeouts.backendRequest and timeouts.request.
import { InvalidConfigError } from '../core/errors.ts';
import { gatewayDuration } from './durations.ts';
import { copy, entryIndex, findObject, renderDocuments } from './kubernetes-base.ts';
import { quotedForComment } from './safe.ts';
import { mappedFor, type ExportInput } from './types.ts';

const GROUP = 'gateway.networking.k8s.io';

/**
 * One HTTPRoute per mapped route, reduced to what server-side apply needs: apiVersion, kind,
 * metadata.name/namespace and spec.rules. `spec.rules` is an atomic list (`+listType=atomic`
 * in the Gateway API types): whoever applies it owns it whole, so the rules cannot be sent
 * with timeouts only — they are the live rules from `--base` with the mapped rules' timeouts
 * set (docs/decisions.md). `backendRequest` is the served value (one call to the backend, what
 * the latency measures); `request` is (retry.attempts + 1) × it, so the retries the rule
 * already asks for fit, and backendRequest ≤ request as the CRD requires. A rule whose endpoint
 * has no value yet is left as it is.
 */
export function gatewayApiRoutes(
  input: ExportInput,
): { comments: string[]; object: Record<string, unknown> }[] {
  const routes = new Map<
    string,
    {
      comments: string[];
      object: Record<string, unknown>;
      rules: unknown[];
      used: Map<number, string>;
    }
  >();
  for (const { value, target } of mappedFor(input, 'gatewayApi')) {
    const key = `${target.namespace}/${target.name}`;
    let route = routes.get(key);
    if (!route) {
      const live = findObject(input.base, GROUP, 'HTTPRoute', target.namespace, target.name);
      const rules = live.spec?.rules;
      if (!Array.isArray(rules)) {
        throw new InvalidConfigError([`HTTPRoute ${key} in --base has no spec.rules`]);
      }
      const copied = copy(rules as unknown[]);
      route = {
        comments: [],
        rules: copied,
        used: new Map(),
        object: {
          apiVersion: live.apiVersion,
          kind: 'HTTPRoute',
          metadata: { name: target.name, namespace: target.namespace },
          spec: { rules: copied },
        },
      };
      routes.set(key, route);
    }
    const i = entryIndex(route.rules, target.rule);
    if (i < 0) {
      throw new InvalidConfigError([
        `mapping ${JSON.stringify(value.endpoint)}.gatewayApi.rule: HTTPRoute ${key} has no rule ${JSON.stringify(target.rule)}`,
      ]);
    }
    const other = route.used.get(i);
    if (other !== undefined) {
      throw new InvalidConfigError([
        `mapping: endpoints ${JSON.stringify(other)} and ${JSON.stringify(value.endpoint)} both map to rule ${i} of HTTPRoute ${key}`,
      ]);
    }
    route.used.set(i, value.endpoint);
    route.comments.push(
      `rules[${i}]: endpoint ${quotedForComment(value.endpoint)}, ${value.servedMs === null ? 'no value yet, left as it is' : `${value.servedMs} ms served`}`,
    );
    if (value.servedMs === null) continue;
    const rule = route.rules[i] as Record<string, unknown>;
    const retry = rule.retry as { attempts?: unknown } | undefined;
    const attempts = typeof retry?.attempts === 'number' && retry.attempts > 0 ? retry.attempts : 0;
    rule.timeouts = {
      ...(rule.timeouts as Record<string, unknown> | undefined),
      request: gatewayDuration(value.servedMs * (attempts + 1)),
      backendRequest: gatewayDuration(value.servedMs),
    };
  }
  return [...routes.values()].map(({ comments, object }) => ({ comments, object }));
}

export function renderGatewayApi(input: ExportInput): string {
  return renderDocuments(
    '# Written by `jit export --format gateway-api`.\n# kubectl apply --server-side --field-manager=justintimeout --force-conflicts -f <this file>\n',
    gatewayApiRoutes(input),
  );
}

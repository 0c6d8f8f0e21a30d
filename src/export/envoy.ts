// Envoy: a v3 RouteConfiguration whose routes carry the served value as `timeout` (and per-try timeout with retries).
import { InvalidConfigError } from '../core/errors.ts';
import { protoDuration } from './durations.ts';
import { mappedFor, type ExportInput } from './types.ts';
import { toYaml } from './yaml.ts';

/** The fields written, as envoy.config.route.v3 names them (proto field names, as Envoy's YAML and JSON take them). */
export interface EnvoyRoute {
  name: string;
  match: { prefix: string } | { path: string };
  route: {
    cluster: string;
    timeout?: string;
    retry_policy?: { retry_on: string; num_retries: number; per_try_timeout?: string };
  };
}
export interface EnvoyVirtualHost {
  name: string;
  domains: string[];
  routes: EnvoyRoute[];
}
export interface EnvoyRouteConfiguration {
  name: string;
  virtual_hosts: EnvoyVirtualHost[];
}

/**
 * One virtual host per mapped `virtualHost`, its routes ordered most specific first (Envoy takes
 * the first route that matches): exact paths before prefixes, longer before shorter. A route's
 * `timeout` is the whole request including retries, so with `retries: n` it is (n + 1) × the
 * served value and `retry_policy.per_try_timeout` is the served value. An endpoint without a
 * value yet gets no timeout (Envoy's default, 15 s).
 */
export function envoyRouteConfiguration(input: ExportInput): EnvoyRouteConfiguration {
  const hosts = new Map<string, EnvoyVirtualHost>();
  const routeOf = new Map<string, string>();
  for (const { value, target } of mappedFor(input, 'envoy')) {
    let host = hosts.get(target.virtualHost);
    if (!host) {
      host = { name: target.virtualHost, domains: target.domains ?? ['*'], routes: [] };
      hosts.set(target.virtualHost, host);
    } else if (target.domains && JSON.stringify(target.domains) !== JSON.stringify(host.domains)) {
      throw new InvalidConfigError([
        `mapping "${value.endpoint}".envoy.domains: virtual host ${target.virtualHost} has domains ${JSON.stringify(host.domains)} already`,
      ]);
    }
    const match =
      target.path !== undefined ? { path: target.path } : { prefix: target.prefix ?? '/' };
    const key = `${target.virtualHost} ${JSON.stringify(match)}`;
    const other = routeOf.get(key);
    if (other !== undefined) {
      throw new InvalidConfigError([
        `mapping: endpoints ${JSON.stringify(other)} and ${JSON.stringify(value.endpoint)} both map to envoy route ${key}`,
      ]);
    }
    routeOf.set(key, value.endpoint);
    const route: EnvoyRoute['route'] = { cluster: target.cluster };
    if (value.servedMs !== null) {
      route.timeout = protoDuration(value.servedMs * (target.retries + 1));
      if (target.retries > 0) {
        route.retry_policy = {
          retry_on: 'connect-failure,refused-stream,reset,5xx',
          num_retries: target.retries,
          per_try_timeout: protoDuration(value.servedMs),
        };
      }
    }
    host.routes.push({ name: value.endpoint, match, route });
  }
  // Envoy refuses a configuration where two virtual hosts share a domain (`*` included).
  const domainOf = new Map<string, string>();
  for (const host of hosts.values()) {
    host.routes.sort(bySpecificity);
    for (const d of host.domains) {
      const other = domainOf.get(d);
      if (other !== undefined) {
        throw new InvalidConfigError([
          `mapping: envoy virtual hosts ${other} and ${host.name} both match domain ${d} (give each its own domains)`,
        ]);
      }
      domainOf.set(d, host.name);
    }
  }
  return { name: input.mapping.envoy.routeConfigName, virtual_hosts: [...hosts.values()] };
}

function bySpecificity(a: EnvoyRoute, b: EnvoyRoute): number {
  const exact = (r: EnvoyRoute) => ('path' in r.match ? 1 : 0);
  const text = (r: EnvoyRoute) => ('path' in r.match ? r.match.path : r.match.prefix);
  return exact(b) - exact(a) || text(b).length - text(a).length || text(a).localeCompare(text(b));
}

/** The RouteConfiguration as YAML, for `route_config` of an HTTP connection manager or a file-based RDS resource. */
export function renderEnvoy(input: ExportInput): string {
  return `# Written by \`jit export --format envoy\`: an envoy.config.route.v3.RouteConfiguration.\n${toYaml(envoyRouteConfiguration(input))}`;
}

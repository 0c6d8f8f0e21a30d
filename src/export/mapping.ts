// The mapping file: which endpoint is which route, host or upstream in each target, read from JSON and checked once.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InvalidConfigError } from '../core/errors.ts';
import { SAFE } from './safe.ts';

const safe = (re: RegExp, what: string) =>
  z.string().regex(re, `not a safe ${what} (allowed: ${re.source})`);

/** A rule (Gateway API) or http route (Istio) of a live object: its index, or its `name`. */
const ruleRef = z.union([
  z.int().min(0).max(63),
  safe(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'rule name'),
]);

const k8sTarget = {
  namespace: safe(SAFE.k8sName, 'Kubernetes namespace'),
  name: safe(SAFE.k8sName, 'Kubernetes object name'),
};

export const gatewayApiTargetSchema = z
  .object({ ...k8sTarget, rule: ruleRef.default(0) })
  .strict()
  .meta({ description: 'HTTPRoute namespace/name and the rule (index or name) the endpoint is.' });

export const istioTargetSchema = z
  .object({ ...k8sTarget, route: ruleRef.default(0) })
  .strict()
  .meta({ description: 'VirtualService namespace/name and its http route (index or name).' });

export const envoyTargetSchema = z
  .object({
    virtualHost: safe(SAFE.identifier, 'virtual host name'),
    domains: z.array(safe(SAFE.domain, 'domain')).min(1).max(64).optional(),
    prefix: safe(SAFE.path, 'path prefix').optional(),
    path: safe(SAFE.path, 'exact path').optional(),
    cluster: safe(SAFE.identifier, 'cluster name'),
    /** Retries Envoy makes after the first try; the route timeout covers them all. Default 0. */
    retries: z.int().min(0).max(10).default(0),
  })
  .strict()
  .refine((t) => (t.prefix === undefined) !== (t.path === undefined), {
    message: 'give exactly one of prefix and path',
  });

export const nginxTargetSchema = z
  .object({
    location: safe(SAFE.path, 'location path'),
    /** `prefix`: `location /p`; `exact`: `location = /p`. Default prefix. */
    match: z.enum(['prefix', 'exact']).default('prefix'),
    proxyPass: safe(SAFE.proxyPass, 'proxy_pass URL'),
  })
  .strict();

export const haproxyTargetSchema = z
  .object({
    backend: safe(SAFE.identifier, 'backend name'),
    servers: z.array(safe(SAFE.hostPort, 'server address (host:port)')).min(1).max(64),
  })
  .strict();

export const mappingEntrySchema = z
  .object({
    gatewayApi: gatewayApiTargetSchema.optional(),
    istio: istioTargetSchema.optional(),
    envoy: envoyTargetSchema.optional(),
    nginx: nginxTargetSchema.optional(),
    haproxy: haproxyTargetSchema.optional(),
  })
  .strict();
export type MappingEntry = z.infer<typeof mappingEntrySchema>;

export const mappingSchema = z
  .object({
    /** Endpoint name (exactly as the broker lists it) → where it is enforced, per target. */
    endpoints: z.record(z.string().min(1).max(1024), mappingEntrySchema),
    envoy: z
      .object({
        routeConfigName: safe(SAFE.identifier, 'route configuration name').default('justintimeout'),
      })
      .strict()
      .default({ routeConfigName: 'justintimeout' }),
  })
  .strict();
export type Mapping = z.infer<typeof mappingSchema>;

/** No mapping: every format but json then has nothing to write. */
export const EMPTY_MAPPING: Mapping = {
  endpoints: {},
  envoy: { routeConfigName: 'justintimeout' },
};

/** Parses and checks a mapping; every problem is reported at once, with its path in the file. */
export function parseMapping(input: unknown, where = 'mapping'): Mapping {
  const r = mappingSchema.safeParse(input);
  if (r.success) return r.data;
  throw new InvalidConfigError(
    r.error.issues.map(
      (i) =>
        `${where} ${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${JSON.stringify(String(p))}`)).join('') || '(top)'}: ${i.message}`,
    ),
  );
}

/** Reads a mapping file (JSON). */
export function readMapping(file: string): Mapping {
  const text = readFileSync(file, 'utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidConfigError([`mapping ${file}: not JSON (${(err as Error).message})`]);
  }
  return parseMapping(data, `mapping ${file}`);
}

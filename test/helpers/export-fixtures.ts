// Shared inputs of the export tests: live objects as `kubectl get -o json` answers them, a mapping, served values.
import type { Mapping } from '../../src/export/mapping.ts';
import { parseMapping } from '../../src/export/mapping.ts';
import type { ServedValue } from '../../src/export/types.ts';

export const HTTP_ROUTES = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: {
        name: 'shop',
        namespace: 'shop',
        resourceVersion: '4711',
        uid: '0b6c7d5e-1111-2222-3333-444455556666',
        managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }],
      },
      spec: {
        parentRefs: [{ name: 'gateway', namespace: 'infra' }],
        hostnames: ['shop.example.com'],
        rules: [
          {
            name: 'cart',
            matches: [{ path: { type: 'PathPrefix', value: '/api/cart' } }],
            backendRefs: [{ group: '', kind: 'Service', name: 'checkout', port: 8080, weight: 1 }],
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/api/orders' } }],
            backendRefs: [{ name: 'orders', port: 8080 }],
            retry: { attempts: 2, codes: [503] },
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ name: 'web', port: 80 }],
            timeouts: { request: '30s' },
          },
        ],
      },
      status: { parents: [] },
    },
  ],
};

export const VIRTUAL_SERVICES = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'checkout', namespace: 'shop', resourceVersion: '99' },
      spec: {
        hosts: ['checkout.shop.svc.cluster.local'],
        http: [
          {
            name: 'cart',
            match: [{ uri: { prefix: '/api/cart' } }],
            route: [{ destination: { host: 'checkout', port: { number: 8080 } } }],
          },
          {
            name: 'orders',
            match: [{ uri: { prefix: '/api/orders' } }],
            route: [{ destination: { host: 'orders' } }],
            retries: { attempts: 3, retryOn: '5xx,connect-failure' },
          },
          { route: [{ destination: { host: 'web' } }], timeout: '30s' },
        ],
      },
    },
  ],
};

export const VALUES: ServedValue[] = [
  { endpoint: 'checkout GET /api/cart/{id}', servedMs: 221, status: 'fresh' },
  { endpoint: 'checkout POST /api/orders', servedMs: 1500, status: 'stale' },
  { endpoint: 'catalog GET /api/products', servedMs: null, status: 'never' },
  { endpoint: 'unmapped', servedMs: 75, status: 'fresh' },
];

export const MAPPING: Mapping = parseMapping({
  endpoints: {
    'checkout GET /api/cart/{id}': {
      gatewayApi: { namespace: 'shop', name: 'shop', rule: 'cart' },
      istio: { namespace: 'shop', name: 'checkout', route: 'cart' },
      envoy: {
        virtualHost: 'shop',
        domains: ['shop.example.com'],
        prefix: '/api/cart/',
        cluster: 'checkout',
      },
      nginx: { location: '/api/cart/', proxyPass: 'http://127.0.0.1:8080' },
      haproxy: { backend: 'checkout_cart', servers: ['127.0.0.1:8080'] },
    },
    'checkout POST /api/orders': {
      gatewayApi: { namespace: 'shop', name: 'shop', rule: 1 },
      istio: { namespace: 'shop', name: 'checkout', route: 'orders' },
      envoy: { virtualHost: 'shop', path: '/api/orders', cluster: 'orders', retries: 2 },
      nginx: { location: '/api/orders', match: 'exact', proxyPass: 'http://127.0.0.1:8081/v1' },
      haproxy: { backend: 'orders', servers: ['127.0.0.1:8081', '[::1]:8082'] },
    },
    'catalog GET /api/products': {
      gatewayApi: { namespace: 'shop', name: 'shop', rule: 2 },
      envoy: {
        virtualHost: 'catalog',
        domains: ['catalog.example.com'],
        prefix: '/',
        cluster: 'catalog',
      },
      nginx: { location: '/api/products', proxyPass: 'http://127.0.0.1:8083' },
      haproxy: { backend: 'catalog', servers: ['localhost:8083'] },
    },
  },
});

/** Endpoint names (from the broker, so not under the mapping's allowlists) that try to inject. */
export const HOSTILE_NAMES = [
  'a"; } location /pwned { return 200 "x',
  'x\n    proxy_pass http://pwned;\n# ',
  'x\r\nlisten 80;\rbackend pwned',
  'x\u2028pwned: true\u2029',
  '# pwned',
  "x' ; pwned {",
  'x${pwned}',
  'x\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: pwned}',
  'x\u0000\u001b[2Jpwned',
  'x: {pwned: 1}',
];

// One function per format: the served values and the mapping → the text of the output file.
import { renderEnvoy } from './envoy.ts';
import { renderGatewayApi } from './gateway-api.ts';
import { renderHaproxy } from './haproxy.ts';
import { renderIstio } from './istio.ts';
import { renderJson } from './json.ts';
import { renderNginx } from './nginx.ts';
import type { ExportFormat, ExportInput } from './types.ts';

export const RENDERERS: Readonly<Record<ExportFormat, (input: ExportInput) => string>> = {
  'gateway-api': renderGatewayApi,
  istio: renderIstio,
  envoy: renderEnvoy,
  nginx: renderNginx,
  haproxy: renderHaproxy,
  json: renderJson,
};

export function renderExport(format: ExportFormat, input: ExportInput): string {
  return RENDERERS[format](input);
}

/** The mapping key a format reads (json lists every endpoint). */
export const MAPPING_KEY = {
  'gateway-api': 'gatewayApi',
  istio: 'istio',
  envoy: 'envoy',
  nginx: 'nginx',
  haproxy: 'haproxy',
  json: undefined,
} as const satisfies Record<ExportFormat, string | undefined>;

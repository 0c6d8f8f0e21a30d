// Endpoint names from spans: default rules per span kind, optional templates, always valid names.
import { InvalidConfigError } from '../core/errors.ts';
import { MAX_ENDPOINT_NAME_LENGTH } from '../core/endpoint-name.ts';
import type { ReceivedSpan, SpanKind } from './types.ts';

export interface NamingOptions {
  /**
   * Templates per span kind, replacing the default rules for that kind, e.g.
   * `{ server: '{service.name} {http.request.method} {http.route}' }`. `{key}` is a span
   * attribute (else the resource's), `{span.name}`, `{span.kind}` or `{service.name}`;
   * `{a|b}` takes the first of `a`, `b` that is present and not empty. When a placeholder has no
   * value the span is named by the default rules (SERVER and CLIENT) or gets no endpoint.
   * Default: none (the default rules for SERVER and CLIENT spans; no endpoint for other kinds).
   */
  templates?: Partial<Readonly<Record<SpanKind, string>>>;
}

/** The attribute keys the default rules read (the decoder must keep them). */
export const NAMING_ATTRIBUTE_KEYS: readonly string[] = [
  'http.request.method',
  'http.method',
  'http.route',
  'url.path',
  'http.target',
  'url.template',
  'url.full',
  'http.url',
  'server.address',
  'server.port',
  'net.peer.name',
  'net.peer.port',
];

/** Placeholders that are span fields, not attributes. */
const SPAN_FIELDS = new Set(['span.name', 'span.kind', 'service.name']);

type Part = string | { alternatives: readonly string[] };

/** Splits a template into literal text and placeholders; a malformed one is a config error. */
function parseTemplate(template: string, where: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const close = template.indexOf('}', i);
    if (close !== -1 && (open === -1 || close < open))
      throw new InvalidConfigError([`${where}: "}" without "{" at ${close}`]);
    if (open === -1) {
      parts.push(template.slice(i));
      break;
    }
    if (open > i) parts.push(template.slice(i, open));
    const end = template.indexOf('}', open);
    if (end === -1) throw new InvalidConfigError([`${where}: "{" without "}" at ${open}`]);
    const alternatives = template
      .slice(open + 1, end)
      .split('|')
      .map((k) => k.trim());
    if (alternatives.some((k) => k === '' || k.includes('{')))
      throw new InvalidConfigError([`${where}: empty or nested placeholder at ${open}`]);
    parts.push({ alternatives });
    i = end + 1;
  }
  return parts;
}

/** The attribute keys a template reads (span fields such as `{span.name}` excluded). */
export function templateAttributeKeys(template: string): string[] {
  const keys = new Set<string>();
  for (const part of parseTemplate(template, 'template'))
    if (typeof part !== 'string')
      for (const k of part.alternatives) if (!SPAN_FIELDS.has(k)) keys.add(k);
  return [...keys];
}

/** Every attribute key naming with these options reads: pass it as `DecodeOptions.attributeKeys`. */
export function namingAttributeKeys(opts: NamingOptions = {}): Set<string> {
  const keys = new Set(NAMING_ATTRIBUTE_KEYS);
  for (const template of Object.values(opts.templates ?? {}))
    if (template !== undefined) for (const k of templateAttributeKeys(template)) keys.add(k);
  return keys;
}

/** Names a span: an endpoint name that passes `endpointNameProblem`, or undefined for none. */
export type SpanNamer = (span: ReceivedSpan) => string | undefined;

/**
 * Compiles the naming options once (templates parsed up front: a malformed one throws
 * InvalidConfigError at start-up, not per span).
 */
export function compileNaming(opts: NamingOptions = {}): SpanNamer {
  const compiled = new Map<SpanKind, Part[]>();
  for (const [kind, template] of Object.entries(opts.templates ?? {}) as [SpanKind, string][])
    compiled.set(kind, parseTemplate(template, `OTLP naming template for ${kind} spans`));
  return (span) => {
    const parts = compiled.get(span.kind);
    if (parts !== undefined) {
      const raw = applyTemplate(parts, span);
      if (raw !== undefined) {
        const name = sanitizeEndpointName(raw);
        if (name !== undefined) return name;
      }
    }
    return defaultEndpointName(span);
  };
}

function applyTemplate(parts: readonly Part[], span: ReceivedSpan): string | undefined {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    let value: string | undefined;
    for (const key of part.alternatives) {
      value = fieldOrAttribute(span, key);
      if (value !== undefined && value.trim() !== '') break;
      value = undefined;
    }
    if (value === undefined) return undefined;
    out += value;
  }
  return out;
}

function fieldOrAttribute(span: ReceivedSpan, key: string): string | undefined {
  if (key === 'span.name') return span.name;
  if (key === 'span.kind') return span.kind;
  if (key === 'service.name') return span.attributes.get(key) ?? span.serviceName;
  return span.attributes.get(key);
}

/** The default rules (docs/otlp.md): SERVER and CLIENT spans only. */
export function defaultEndpointName(span: ReceivedSpan): string | undefined {
  if (span.kind === 'server') return serverName(span);
  if (span.kind === 'client') return clientName(span);
  return undefined;
}

const attr = (span: ReceivedSpan, key: string): string | undefined => {
  const v = span.attributes.get(key)?.trim();
  return v === '' ? undefined : v;
};

/** `service method route`, else the span name, else the path with ids replaced by `{id}`. */
function serverName(span: ReceivedSpan): string | undefined {
  const method = attr(span, 'http.request.method') ?? attr(span, 'http.method');
  const route = attr(span, 'http.route');
  let what: string | undefined;
  if (route !== undefined) what = join(method, route);
  else if (!isBareMethod(span.name, method)) what = span.name;
  else {
    const path = attr(span, 'url.path') ?? pathOf(attr(span, 'http.target'));
    what = path !== undefined ? join(method, templatePath(path)) : (method ?? span.name);
  }
  return sanitizeEndpointName(join(span.serviceName, what));
}

/** `callee method template`, else the span name, else the URL's path with ids replaced. */
function clientName(span: ReceivedSpan): string | undefined {
  const method = attr(span, 'http.request.method') ?? attr(span, 'http.method');
  const url = splitUrl(attr(span, 'url.full') ?? attr(span, 'http.url'));
  const host = attr(span, 'server.address') ?? attr(span, 'net.peer.name') ?? url?.host;
  const port = attr(span, 'server.port') ?? attr(span, 'net.peer.port') ?? url?.port;
  // 80 and 443 are left out: the same callee is reached on them with or without the attribute.
  const callee =
    host === undefined
      ? undefined
      : port && port !== '80' && port !== '443'
        ? `${host}:${port}`
        : host;
  const template = attr(span, 'url.template');
  let what: string | undefined;
  if (template !== undefined) what = join(method, template);
  else if (!isBareMethod(span.name, method)) what = span.name;
  else if (url?.path) what = join(method, templatePath(url.path));
  else if (callee === undefined)
    return undefined; // "GET" alone names nothing
  else what = method ?? span.name;
  return sanitizeEndpointName(join(callee, what));
}

const HTTP_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'HTTP', // the semantic conventions' span name for an unknown method
]);

/** Span names such as "GET" say nothing about the endpoint (the SDK's name without a route). */
function isBareMethod(name: string, method: string | undefined): boolean {
  const n = name.trim();
  return n === '' || n === method || HTTP_METHODS.has(n);
}

function join(...parts: (string | undefined)[]): string {
  return parts.filter((p) => p !== undefined && p !== '').join(' ');
}

/** The path of an `http.target` ("/a/b?q=1" → "/a/b"): queries and fragments are never kept. */
function pathOf(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const path = target.split(/[?#]/, 1)[0];
  return path === '' ? undefined : path;
}

/** host, port and path of an absolute URL; user info, query and fragment are dropped. */
function splitUrl(
  url: string | undefined,
): { host: string; port: string | undefined; path: string | undefined } | undefined {
  if (url === undefined) return undefined;
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?([^?#]*)/i.exec(
    url,
  );
  if (m === null || m[1] === undefined || m[1] === '') return undefined;
  return { host: m[1].toLowerCase(), port: m[2] || undefined, path: m[3] || undefined };
}

const ID_SEGMENT =
  /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})$/i;

/**
 * A raw path with ids as `{id}` (all-digit segments, UUIDs, hex of ≥ 16 digits): without a route
 * template every user id would otherwise become an endpoint of its own.
 */
export function templatePath(path: string): string {
  return path
    .split('/')
    .map((s) => (ID_SEGMENT.test(s) ? '{id}' : s))
    .join('/');
}

/** Anything sanitizeEndpointName would change: bad characters, surrogates, double or edge spaces. */
// eslint-disable-next-line no-control-regex
const NEEDS_CLEANING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ud800-\udfff]|\s\s|^\s|\s$|[^\S ]/;

/**
 * Makes any text a valid endpoint name (see endpointNameProblem): control and line-separator
 * characters become spaces, white space runs become one space, ends are trimmed, lone surrogates
 * become U+FFFD, and the result is cut to MAX_ENDPOINT_NAME_LENGTH characters (never inside a
 * surrogate pair). Undefined when nothing is left.
 */
export function sanitizeEndpointName(raw: string): string | undefined {
  // Fast path: most names need nothing (one scan instead of four replaces).
  if (raw.length <= MAX_ENDPOINT_NAME_LENGTH && raw !== '' && !NEEDS_CLEANING.test(raw)) return raw;
  let s = raw
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/\s+/g, ' ')
    .trim();
  if (s.length > MAX_ENDPOINT_NAME_LENGTH) {
    s = s.slice(0, MAX_ENDPOINT_NAME_LENGTH);
    if (/[\ud800-\udbff]$/.test(s)) s = s.slice(0, -1);
    s = s.trimEnd();
  }
  return s === '' ? undefined : s;
}

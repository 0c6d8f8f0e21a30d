// What a mapping value may contain before it is written into a proxy's configuration, and how names are quoted in comments.

/**
 * The character sets allowed in mapping values that end up unquoted in nginx or HAProxy
 * configuration (or as Kubernetes names). They are allowlists, not escapes: nginx and HAProxy
 * have no quoting that every directive honours, and a value with a space, quote, brace,
 * semicolon, `#`, `$` or line break could end the directive and start another.
 */
export const SAFE = {
  /** RFC 1123 label (Kubernetes namespace) or subdomain (object name). */
  k8sName: /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
  /** An absolute URL path: unreserved characters, `/`, `%`-escapes and a few sub-delimiters. */
  path: /^\/[A-Za-z0-9._~!*+,=:@%/-]{0,1023}$/,
  /** proxy_pass target: http(s)://host[:port][/path], no variables, no credentials. */
  proxyPass:
    /^https?:\/\/[A-Za-z0-9._-]{1,253}(:[0-9]{1,5})?(\/[A-Za-z0-9._~!*+,=:@%/-]{0,1023})?$/,
  /** HAProxy backend / Envoy cluster / virtual host name. */
  identifier: /^[A-Za-z0-9_][A-Za-z0-9._:-]{0,127}$/,
  /** host:port of a server (IPv4, IPv6 in brackets, or a DNS name). */
  hostPort: /^([A-Za-z0-9._-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):[0-9]{1,5}$/,
  /** A DNS name or wildcard domain as Envoy matches it (`*.example.com`, `example.com:8080`, `*`). */
  domain: /^(\*|(\*\.)?[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*(:[0-9]{1,5})?)$/,
} as const;

/**
 * A name as a one-line, ASCII-only, double-quoted string for a `#` comment: every character
 * outside printable ASCII (line breaks, U+2028, control characters) is written as `\uXXXX`, so
 * no endpoint name can end the comment and start a directive, whatever the target's line rules.
 */
export function quotedForComment(name: string): string {
  return JSON.stringify(name).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

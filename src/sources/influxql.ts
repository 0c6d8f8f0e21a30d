// InfluxQL quoting: identifiers, string literals and regex literals that no endpoint name can escape.

/** A double-quoted identifier: `"http.url"`. Backslashes and quotes escaped. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A single-quoted string literal for exact tag matches. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * A regex literal `/…/` matching `value` as a literal substring. Every RE2 metacharacter is
 * backslash-escaped (as Go's regexp.QuoteMeta), and `/` becomes `\/`, the one escape InfluxQL's
 * scanner itself consumes; it passes every other `\x` through to RE2 unchanged. A backslash is
 * written as RE2's `\x5c`: as `\\`, a trailing one would make the scanner read the closing
 * slash as escaped (seen on InfluxDB 1.6: "unterminated regex").
 */
export function quoteRegexLiteral(value: string): string {
  const meta = value.replace(/\\/g, '\\x5c').replace(/[.+*?()|[\]{}^$]/g, '\\$&');
  return `/${meta.replace(/\//g, '\\/')}/`;
}

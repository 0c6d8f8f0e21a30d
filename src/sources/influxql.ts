// InfluxQL quoting: identifiers, string literals and regex literals that no endpoint name can escape.

/**
 * The body of a quoted identifier or string literal. InfluxQL's scanner ends a string at a raw
 * newline ("bad string") and reads `\\`, `\n` and an escaped quote, so those are escaped.
 */
function escapeQuoted(value: string, quote: '"' | "'"): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(quote === '"' ? /"/g : /'/g, `\\${quote}`);
}

/** A double-quoted identifier: `"http.url"`. Backslashes, quotes and newlines escaped. */
export function quoteIdentifier(name: string): string {
  return `"${escapeQuoted(name, '"')}"`;
}

/** A single-quoted string literal for exact tag or field matches. */
export function quoteString(value: string): string {
  return `'${escapeQuoted(value, "'")}'`;
}

/**
 * `value` as RE2 source matching it literally. Every RE2 metacharacter is backslash-escaped (as
 * Go's regexp.QuoteMeta); a backslash is written as RE2's `\x5c` and a control character as its
 * `\xNN`: as `\\`, a trailing one would make InfluxQL's scanner read the closing slash as
 * escaped (seen on InfluxDB 1.6: "unterminated regex"), and a raw newline ends the statement.
 */
export function regexQuoteMeta(value: string): string {
  return value
    .replace(/\\/g, '\\x5c')
    .replace(/[.+*?()|[\]{}^$]/g, '\\$&')
    .replace(
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u001f\u007f]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
    );
}

/**
 * RE2 source as an InfluxQL regex literal `/…/`: `/` becomes `\/`, the one escape InfluxQL's
 * scanner itself consumes; it passes every other `\x` through to RE2 unchanged. The source must
 * write literal backslashes as `\x5c` (as `regexQuoteMeta` does).
 */
export function regexLiteral(source: string): string {
  return `/${source.replace(/\//g, '\\/')}/`;
}

/** A regex literal `/…/` matching `value` as a literal substring. */
export function quoteRegexLiteral(value: string): string {
  return regexLiteral(regexQuoteMeta(value));
}

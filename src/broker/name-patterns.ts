// Endpoint-name patterns for discovery (--discovery-allow/--discovery-deny, alias --otlp-allow/--otlp-deny): globs, or /regular expressions/.

/**
 * A pattern matches a whole endpoint name. A glob by default — `*` any run of characters
 * (slashes and spaces included: names look like `frontend GET /api/customer/{id}`), `?` one
 * character, everything else literal — or, written between slashes (`/^GET \/api\//`), a
 * JavaScript regular expression, which matches anywhere unless anchored.
 */
export function compilePattern(pattern: string): RegExp {
  if (pattern.length >= 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    return new RegExp(pattern.slice(1, -1), 'u');
  }
  const body = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'su');
}

/** Why `pattern` cannot be used, or undefined. */
export function patternProblem(pattern: string): string | undefined {
  try {
    compilePattern(pattern);
    return undefined;
  } catch (err) {
    return `pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(err as Error).message}`;
  }
}

/** Decides which names may be discovered: allowed (or no allow list) and not denied. */
export class NameFilter {
  private readonly allow: readonly RegExp[];
  private readonly deny: readonly RegExp[];

  constructor(allow: readonly string[], deny: readonly string[]) {
    this.allow = allow.map(compilePattern);
    this.deny = deny.map(compilePattern);
  }

  /** Why `name` may not be discovered (for partialSuccess.errorMessage), or undefined. */
  refusal(name: string): string | undefined {
    if (this.allow.length > 0 && !this.allow.some((r) => r.test(name)))
      return 'matches no --discovery-allow (--otlp-allow) pattern';
    if (this.deny.some((r) => r.test(name)))
      return 'matches a --discovery-deny (--otlp-deny) pattern';
    return undefined;
  }
}

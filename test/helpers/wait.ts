// Polling helper for tests: retry a check until it passes or a deadline expires (no fixed sleeps).

export interface WaitOptions {
  /** Pause between attempts. Default 50 (ms). */
  intervalMs?: number;
  /** Describes what was awaited, for the error message. */
  message?: string;
}

/**
 * Calls `fn` until it returns a value other than `undefined`/`false` (or a promise of one) and
 * answers that value. An exception thrown by `fn` counts as "not yet"; the last one is reported
 * when the deadline passes, so a failing assertion inside `fn` explains the time-out.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  options: WaitOptions = {},
): Promise<Exclude<T, false | undefined>> {
  const interval = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = options.message ?? 'condition';
      const why =
        lastError === undefined
          ? 'it never became true'
          : `last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`;
      throw new Error(
        `timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${what}; ${why}`,
        {
          cause: lastError,
        },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}

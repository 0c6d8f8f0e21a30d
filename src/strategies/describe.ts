// Numbers in the words of a strategy's reason: durations, counts and levels as a person reads them.

/** 850 ms, 12.5 ms, 0.4 ms, 4.9 s, 35.7 s. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 100_000 ? 0 : 1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${Number(ms.toFixed(1))} ms`;
  return `${Number(ms.toPrecision(2))} ms`;
}

/** 3 420, 12 000 (thin groups as in the docs; never locale-dependent). */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** The 1 − α quantile's name: α = 0.001 → "p99.9", α = 0.0007 → "p99.93". */
export function describeLevel(alpha: number): string {
  return `p${Number((100 * (1 - alpha)).toPrecision(12))}`;
}

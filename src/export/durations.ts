// Duration spellings of each target: Gateway API (GEP-2257), protobuf Duration, nginx, HAProxy.

/** A served value as whole milliseconds, rounded up (a timeout is never shortened by rounding), at least 1. */
export function wholeMs(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`not a positive duration: ${ms} ms`);
  return Math.max(1, Math.ceil(ms));
}

/**
 * Gateway API Duration (GEP-2257, the format of HTTPRoute `timeouts`): one to four
 * `<1–5 digits><h|m|s|ms>` components, no fractions, no spaces — the CRD's pattern is
 * `^([0-9]{1,5}(h|m|s|ms)){1,4}$`. So 1500 ms is `1s500ms`, never `1.5s`.
 */
export function gatewayDuration(ms: number): string {
  let rest = wholeMs(ms);
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  rest -= s * 1000;
  // At most 99999 h fits one component; anything longer is not a timeout anyone means.
  if (h > 99_999) throw new RangeError(`${ms} ms is longer than a Gateway API duration allows`);
  const parts = [
    h > 0 ? `${h}h` : '',
    m > 0 ? `${m}m` : '',
    s > 0 ? `${s}s` : '',
    rest > 0 ? `${rest}ms` : '',
  ];
  return parts.join('');
}

/** Protobuf Duration in its JSON/YAML form (Istio, Envoy): seconds with up to 3 decimals, `0.221s`, `1.5s`, `2s`. */
export function protoDuration(ms: number): string {
  const n = wholeMs(ms);
  const seconds = Math.floor(n / 1000);
  const frac = n % 1000;
  return frac === 0
    ? `${seconds}s`
    : `${seconds}.${String(frac).padStart(3, '0').replace(/0+$/, '')}s`;
}

/** nginx and HAProxy time: whole milliseconds with the `ms` unit, which both accept. */
export function msTime(ms: number): string {
  return `${wholeMs(ms)}ms`;
}

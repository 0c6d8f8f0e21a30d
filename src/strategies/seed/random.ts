// Seeded permutations for the seed forecaster (uniform and normal generators live in core/random).

/** A permutation of 0 … n − 1 (Fisher–Yates) drawn with `uniform`. */
export function seededPermutation(n: number, uniform: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

// Seeded orthogonal matrices (Keras' Orthogonal initializer) by Gram–Schmidt, without tfjs' slow QR.
import { seededNormal, seededUniform } from '../../core/random.ts';

/**
 * A `rows × cols` matrix, row-major, whose rows (when rows ≤ cols) or columns (otherwise) are
 * orthonormal, times `gain`: the QR factor of a seeded Gaussian matrix, signs fixed so that R has
 * a positive diagonal, as Keras' `Orthogonal` does. tfjs' own initializer calls `linalg.qr`, which
 * takes ~50 s for the original's 256 × 512 recurrent kernel; this takes milliseconds.
 */
export function orthogonalMatrix(rows: number, cols: number, seed: number, gain = 1): Float32Array {
  const m = Math.max(rows, cols); // tall matrix m × k, orthonormalised column by column
  const k = Math.min(rows, cols);
  const normal = seededNormal(seededUniform(seed));
  const q: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = normal();
    // Modified Gram–Schmidt, twice over for numerical orthogonality.
    for (let pass = 0; pass < 2; pass++) {
      for (const u of q) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += (u[i] as number) * (v[i] as number);
        for (let i = 0; i < m; i++) v[i] = (v[i] as number) - dot * (u[i] as number);
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += (v[i] as number) ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) v[i] = (v[i] as number) / norm;
    q.push(v);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // rows ≥ cols: out = Q (m × k); rows < cols: out = Qᵀ.
      const value = rows >= cols ? (q[c] as Float64Array)[r] : (q[r] as Float64Array)[c];
      out[r * cols + c] = gain * (value as number);
    }
  }
  return out;
}

// Writes the synthetic-shifts trace of docs/strategies.md: 7 endpoints × 60 000 requests (fixed seed).
// Usage: node benchmarks/backtest/synthetic-shifts.mjs OUT.csv
import { writeFileSync } from 'node:fs';
let s = 12345;
const r = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const normal = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const lognormal = (mu, sig) => Math.exp(mu + sig * normal());
const pareto = (xm, a) => xm / Math.pow(r() + 1e-12, 1 / a);
const lines = ['timestamp_ns,endpoint,duration_ns'];
const start = 1.7e18;
const rate = 5; // req/s
const N = 60000;
const gens = {
  lognormal: (_i) => lognormal(3, 0.5),
  pareto: (_i) => pareto(10, 2.5),
  steps: (i) => lognormal(3, 0.4) * (Math.floor(i / 6000) % 3 === 1 ? 4 : 1),
  spikes: (i) => lognormal(3, 0.4) * (i % 10000 > 9400 ? 10 : 1),
  drift: (i) => lognormal(3 + Math.sin(i / 3000), 0.4),
  bimodal: (_i) => (r() < 0.03 ? lognormal(6, 0.3) : lognormal(2.5, 0.3)),
  // Issue 16's burst: ~80 ms calls, then 300 calls of 2.5–5 s in a row (one minute), then normal
  // again; twice. Last in this list, so the endpoints above keep their random draws.
  burst: (i) => (i % 20000 >= 10000 && i % 20000 < 10300 ? 2500 + 2500 * r() : lognormal(4.4, 0.5)),
};
const rows = [];
for (const [name, g] of Object.entries(gens)) {
  let t = start;
  for (let i = 0; i < N; i++) {
    t += (-Math.log(r() + 1e-12) / rate) * 1e9;
    rows.push([t, name, Math.round(g(i) * 1e6)]);
  }
}
rows.sort((a, b) => a[0] - b[0]);
for (const [t, n, d] of rows) lines.push(`${BigInt(Math.round(t / 1000)) * 1000n},${n},${d}`);
writeFileSync(process.argv[2], lines.join('\n') + '\n');

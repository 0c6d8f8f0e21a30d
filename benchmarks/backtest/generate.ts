// Writes a synthetic trace CSV (timestamp_ns,endpoint,duration_ns) for backtest benchmarks.
// Usage: node --import tsx benchmarks/backtest/generate.ts OUT.csv [records=1000000] [endpoints=10]
import { createWriteStream } from 'node:fs';

const [out = 'trace.csv', recordsArg = '1000000', endpointsArg = '10'] = process.argv.slice(2);
const records = Number(recordsArg);
const endpoints = Number(endpointsArg);
let seed = 2024;
const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

// Two days of traffic; every endpoint has a lognormal body, a heavy tail and hourly shifts.
const spanMs = 2 * 86_400_000;
const start = 1_700_000_000_000;
const stream = createWriteStream(out);
stream.write('timestamp_ns,endpoint,duration_ns\n');
for (let i = 0; i < records; i++) {
  const tMs = start + (i / records) * spanMs;
  const e = i % endpoints;
  const shifted = Math.floor(tMs / 3_600_000) % 7 === e % 7 ? 3 : 1;
  const tail = rand() < 0.01 ? 10 : 1;
  const durMs = Math.exp(2 + (e % 3) * 0.5 + 0.5 * normal()) * shifted * tail;
  const line = `${Math.floor(tMs)}${String(i % 1_000_000).padStart(6, '0')},endpoint-${e},${Math.round(durMs * 1e6)}\n`;
  if (!stream.write(line)) await new Promise<void>((r) => stream.once('drain', () => r()));
}
stream.end();
await new Promise<void>((r) => stream.once('finish', () => r()));
process.stderr.write(`wrote ${records} records to ${out}\n`);
